enum MLPlaceholder {}
