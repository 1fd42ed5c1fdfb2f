"""Generated code. DO NOT EDIT."""
