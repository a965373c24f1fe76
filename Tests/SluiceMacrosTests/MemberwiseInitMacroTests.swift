import SluiceMacros
import SwiftSyntaxMacroExpansion
import SwiftSyntaxMacrosGenericTestSupport
import Testing

/// Expands `source` with `@MemberwiseInit` and records any difference from `expanded` as a test issue.
private func expectExpansion(
    _ source: String,
    expandedSource expanded: String,
    diagnostics: [DiagnosticSpec] = [],
    fixedSource: String? = nil,
    sourceLocation: SourceLocation = #_sourceLocation
) {
    assertMacroExpansion(
        source,
        expandedSource: expanded,
        diagnostics: diagnostics,
        macroSpecs: ["MemberwiseInit": MacroSpec(type: MemberwiseInitMacro.self)],
        fixedSource: fixedSource,
        failureHandler: { Issue.record(Comment(rawValue: $0.message), sourceLocation: sourceLocation) }
    )
}

@Suite("MemberwiseInit macro")
struct MemberwiseInitMacroTests {
    @Test("a public struct gets a public init: initial values become defaults, a `T?` var defaults to nil")
    func publicStructWithDefaults() {
        expectExpansion(
            """
            @MemberwiseInit
            public struct Job: Sendable {
                public var name: String
                public let attempts: Int
                public var timeout: Double = 30
                public var note: String?
                public var tags: Optional<[String]>
                public let owner: String?
            }
            """,
            expandedSource: """
                public struct Job: Sendable {
                    public var name: String
                    public let attempts: Int
                    public var timeout: Double = 30
                    public var note: String?
                    public var tags: Optional<[String]>
                    public let owner: String?

                    public init(name: String, attempts: Int, timeout: Double = 30, note: String? = nil, tags: Optional<[String]>, owner: String?) {
                        self.name = name
                        self.attempts = attempts
                        self.timeout = timeout
                        self.note = note
                        self.tags = tags
                        self.owner = owner
                    }
                }
                """
        )
    }

    @Test("a let with a value, static and computed properties are not parameters; observed and shared-type ones are")
    func skipsWhatSwiftSkips() {
        expectExpansion(
            """
            @MemberwiseInit
            struct Counter {
                static var made = 0
                let kind = "counter"
                var total: Int { didSet { Counter.made += 1 } }
                var low, high: Int
                var span: Int { high - low }
                var label: String {
                    get { kind }
                    set {}
                }
            }
            """,
            expandedSource: """
                struct Counter {
                    static var made = 0
                    let kind = "counter"
                    var total: Int { didSet { Counter.made += 1 } }
                    var low, high: Int
                    var span: Int { high - low }
                    var label: String {
                        get { kind }
                        set {}
                    }

                    init(total: Int, low: Int, high: Int) {
                        self.total = total
                        self.low = low
                        self.high = high
                    }
                }
                """
        )
    }

    @Test("function-typed parameters, also through the struct's own aliases, are @escaping; optional ones are already")
    func escapingClosures() {
        expectExpansion(
            """
            @MemberwiseInit
            package struct Hooks {
                typealias Send = @Sendable (String) async throws -> Void
                typealias Name = String
                var onEnd: @Sendable (Int) -> Void
                var onStart: (() -> Void)?
                var send: Send
                var name: Name
            }
            """,
            expandedSource: """
                package struct Hooks {
                    typealias Send = @Sendable (String) async throws -> Void
                    typealias Name = String
                    var onEnd: @Sendable (Int) -> Void
                    var onStart: (() -> Void)?
                    var send: Send
                    var name: Name

                    package init(onEnd: @escaping @Sendable (Int) -> Void, onStart: (() -> Void)? = nil, send: @escaping Send, name: Name) {
                        self.onEnd = onEnd
                        self.onStart = onStart
                        self.send = send
                        self.name = name
                    }
                }
                """
        )
    }

    @Test("a private struct's init is fileprivate, so the file that declares the struct can call it")
    func privateStruct() {
        expectExpansion(
            """
            @MemberwiseInit
            private struct Pair {
                var left: Int
            }
            """,
            expandedSource: """
                private struct Pair {
                    var left: Int

                    fileprivate init(left: Int) {
                        self.left = left
                    }
                }
                """
        )
    }

    @Test("on a class or an enum: an error at the attribute, with a fix-it that removes it")
    func notAStruct() {
        for kind in ["class", "enum"] {
            expectExpansion(
                """
                @MemberwiseInit
                public \(kind) Shape {
                }
                """,
                expandedSource: """
                    public \(kind) Shape {
                    }
                    """,
                diagnostics: [
                    DiagnosticSpec(
                        message:
                            "@MemberwiseInit applies to a struct only, not to this \(kind); "
                            + "write the \(kind)'s init by hand",
                        line: 1, column: 1, fixIts: [FixItSpec(message: "remove '@MemberwiseInit'")]
                    )
                ]
            )
        }
    }

    @Test("a stored property without a type: an error at its name, a fix-it that adds a placeholder, and no init")
    func missingType() {
        expectExpansion(
            """
            @MemberwiseInit
            public struct Limits {
                public var rate: Double
                public var burst = 10
            }
            """,
            expandedSource: """
                public struct Limits {
                    public var rate: Double
                    public var burst = 10
                }
                """,
            diagnostics: [
                DiagnosticSpec(
                    message:
                        "@MemberwiseInit needs the type of stored property 'burst' for its parameter; "
                        + "write it, as in 'burst: Type'",
                    line: 4, column: 16, fixIts: [FixItSpec(message: "add a type annotation to 'burst'")]
                )
            ],
            fixedSource: """
                @MemberwiseInit
                public struct Limits {
                    public var rate: Double
                    public var burst: <#Type#> = 10
                }
                """
        )
    }
}
