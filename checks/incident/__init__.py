"""The incident's durable state: its directory, the journal and its event vocabulary, the evidence keys, seats and locks, the record."""
