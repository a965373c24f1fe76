enum MLTestsPlaceholder {}
