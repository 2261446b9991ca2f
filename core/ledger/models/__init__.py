"""The ledger's tables (SQLAlchemy 2), one module per area. Money columns are integer minor
units.

Every change to these modules needs an Alembic revision in ``migrations/versions``; a test
compares the models with the migrated schema. Import the tables from here:
``from core.ledger.models import Order``.
"""

from core.ledger.models.access import ApiKey, AuditEvent, ConnectCode, OfficeSession, User
from core.ledger.models.base import Base, UTCDateTime, utcnow
from core.ledger.models.documents import DocumentEmail, IssuedDocument
from core.ledger.models.limits import RateLimitWindow
from core.ledger.models.orders import (
    Buyer,
    Delivery,
    Invoice,
    Merchant,
    Movement,
    OperationRecord,
    Order,
    OrderLine,
    OrderRefund,
    PeriodicRun,
    RefusalRecord,
    ShopConnection,
)
from core.ledger.models.receivables import (
    BankTransactionRecord,
    Charge,
    DunningStep,
    HandoverBatch,
    Owed,
    Payment,
    Receivable,
)
from core.ledger.models.risk import (
    CheckoutDecision,
    CreditProfile,
    LimitChange,
    Product,
    ProviderCheckout,
    RiskPolicyRecord,
)
from core.ledger.models.sync import OrderDrift, ShopSync, WriteBackRecord

__all__ = [
    "ApiKey",
    "AuditEvent",
    "BankTransactionRecord",
    "Base",
    "Buyer",
    "Charge",
    "CheckoutDecision",
    "ConnectCode",
    "CreditProfile",
    "Delivery",
    "DocumentEmail",
    "DunningStep",
    "HandoverBatch",
    "Invoice",
    "IssuedDocument",
    "LimitChange",
    "Merchant",
    "Movement",
    "OfficeSession",
    "OperationRecord",
    "Order",
    "OrderDrift",
    "OrderLine",
    "OrderRefund",
    "Owed",
    "Payment",
    "PeriodicRun",
    "Product",
    "ProviderCheckout",
    "RateLimitWindow",
    "Receivable",
    "RefusalRecord",
    "RiskPolicyRecord",
    "ShopConnection",
    "ShopSync",
    "UTCDateTime",
    "User",
    "WriteBackRecord",
    "utcnow",
]
