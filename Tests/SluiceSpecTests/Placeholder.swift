enum SpecTestsPlaceholder {}
