/// Absolute path of a file in this suite's Fixtures folder (copies of ../shared/data).
func fixture(_ name: String, file: String = #filePath) -> String {
    let folder = file.split(separator: "/", omittingEmptySubsequences: false).dropLast().joined(separator: "/")
    return folder + "/Fixtures/" + name
}
