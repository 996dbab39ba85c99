"""Our OpenAPI fragments: assembling, validating and comparing them with upstream."""
