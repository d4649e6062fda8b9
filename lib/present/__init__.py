"""Results as tables of numbers, equations, code snippets, plain-language text, report."""
