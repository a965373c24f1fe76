public import SluiceCore

extension SQLiteStore: ApprovalStoring, ExecutionAdopting {}
