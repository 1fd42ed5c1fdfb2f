"""Service implementations (yours; microlib codegen never overwrites them)."""
