"""The mapper's work for one queue message: make Clio match one QBO transaction (R4-R15).

- ``plan``: what Clio should hold for the transaction (pure, from the purchase and the directory's answers);
- ``resolve``: asks the directory who the customers are in Clio (the only reads the plan needs);
- ``protocol``: the exactly-once protocol (lock, intents, adopt, save) over the transaction's mapping record;
- ``entries``: the Clio effects on one entry (create, update, remove) and what each refusal means;
- ``transaction``: one transaction worked through under its lock;
- ``consume``: one SQS record: parse, the tenant's gate, throttling and the DLQ.
"""
