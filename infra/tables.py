"""DynamoDB tables of docs/architecture.md: keys and TTL attributes are part of the contract."""

from __future__ import annotations

from aws_cdk import RemovalPolicy
from aws_cdk import aws_dynamodb as dynamodb
from constructs import Construct

from .stages import StageConfig

TTL_ATTRIBUTE = "ttl"


class ServiceTables(Construct):
    """Electors (the roll), single-use links, FranceConnect state and the audit trail."""

    def __init__(self, scope: Construct, construct_id: str, *, config: StageConfig) -> None:
        super().__init__(scope, construct_id)
        self._config = config
        self.electors = self._table("Electors", "electors", "elector_id")
        self.links = self._table("Links", "links", "link_id", ttl=True)
        self.fc_state = self._table("FcState", "fc-state", "state_id", ttl=True)
        # The TTL only cleans up: link and state expiry are checked in code (TTL may lag 48 h).
        self.audit = self._table("Audit", "audit", "elector_id", sort_key="event_key", ttl=True)

    @property
    def all(self) -> list[dynamodb.Table]:
        return [self.electors, self.links, self.fc_state, self.audit]

    def _table(
        self,
        construct_id: str,
        short_name: str,
        partition_key: str,
        *,
        sort_key: str | None = None,
        ttl: bool = False,
    ) -> dynamodb.Table:
        production = self._config.is_production
        return dynamodb.Table(
            self,
            construct_id,
            table_name=f"{self._config.resource_prefix}-{short_name}",
            partition_key=dynamodb.Attribute(name=partition_key, type=dynamodb.AttributeType.STRING),
            sort_key=(
                dynamodb.Attribute(name=sort_key, type=dynamodb.AttributeType.STRING) if sort_key else None
            ),
            billing_mode=dynamodb.BillingMode.PAY_PER_REQUEST,
            encryption=dynamodb.TableEncryption.AWS_MANAGED,
            point_in_time_recovery_specification=dynamodb.PointInTimeRecoverySpecification(
                point_in_time_recovery_enabled=True
            ),
            time_to_live_attribute=TTL_ATTRIBUTE if ttl else None,
            deletion_protection=production,
            removal_policy=RemovalPolicy.RETAIN_ON_UPDATE_OR_DELETE if production else RemovalPolicy.DESTROY,
        )
