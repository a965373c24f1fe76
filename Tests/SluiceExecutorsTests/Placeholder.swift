// Executor tests
