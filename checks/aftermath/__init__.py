"""What follows a promotion: roll back, re-protect the old primary, re-point standbys, keep one writer, adopt another's promotion."""
