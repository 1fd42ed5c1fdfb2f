"""The bookshop example service."""
