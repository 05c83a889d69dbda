"""Operations tools: roll import, synthetic roll, load kit, capacity model."""
