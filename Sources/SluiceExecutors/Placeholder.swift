enum ExecutorsPlaceholder {}
