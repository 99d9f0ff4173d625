"""What comes in: the clusters file, its errors, secrets and their redaction, hostile text made safe, node endpoints."""
