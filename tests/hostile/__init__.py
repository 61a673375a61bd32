"""Attacks postq withstands, one file per area; each test is named after its attack."""
