"""The rules of DESIGN.md §3 as pure functions of data: no I/O, no clock, no clients, one module each.

- ``preconditions``: R1-R3, whether the firm can import at all;
- ``purchase``: R4-R9, which purchases count and what each should become in Clio;
- ``amounts``: R9, currency, rates and cents;
- ``customers``: R8, QBO customer to Clio contact; ``matter``: R10, which matter;
- ``entry``: §5, the entry's note (and the note entries created before it left markers out) and content hash;
- ``recognition``: R15 without markers, which of the firm's entries an interrupted create left in Clio;
- ``removal``: R11-R13, what a change or a deletion in QBO may do to an entry the firm has touched;
- ``tenant_status``: the tenant's lifecycle (connected, blocked, needs reconnect, disconnected, purged).

The names the logic uses most are re-exported here.
"""

from hardcost.rules.amounts import CENT as CENT
from hardcost.rules.amounts import RateLookup as RateLookup
from hardcost.rules.amounts import home_currency_of as home_currency_of
from hardcost.rules.customers import contact_names as contact_names
from hardcost.rules.customers import customer_names as customer_names
from hardcost.rules.customers import normalize_name as normalize_name
from hardcost.rules.customers import pick_contact_by_email as pick_contact_by_email
from hardcost.rules.customers import pick_contact_by_name as pick_contact_by_name
from hardcost.rules.entry import build_note as build_note
from hardcost.rules.entry import content_hash as content_hash
from hardcost.rules.entry import legacy_marker as legacy_marker
from hardcost.rules.entry import legacy_note as legacy_note
from hardcost.rules.entry import txn_summary as txn_summary
from hardcost.rules.matter import MatterChoice as MatterChoice
from hardcost.rules.matter import choose_matter as choose_matter
from hardcost.rules.preconditions import Problem as Problem
from hardcost.rules.preconditions import evaluate_preconditions as evaluate_preconditions
from hardcost.rules.purchase import CustomerGroup as CustomerGroup
from hardcost.rules.purchase import LineSummary as LineSummary
from hardcost.rules.purchase import PlannedFailure as PlannedFailure
from hardcost.rules.purchase import PurchasePlan as PurchasePlan
from hardcost.rules.purchase import TxnType as TxnType
from hardcost.rules.purchase import describe_type as describe_type
from hardcost.rules.purchase import exchange_rate_lookup as exchange_rate_lookup
from hardcost.rules.purchase import is_voided as is_voided
from hardcost.rules.purchase import plan_purchase as plan_purchase
from hardcost.rules.purchase import transaction_type as transaction_type
