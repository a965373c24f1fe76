import SwiftCompilerPlugin
import SwiftDiagnostics
import SwiftSyntax
import SwiftSyntaxBuilder
import SwiftSyntaxMacros

/// `@MemberwiseInit` writes the initialiser Swift synthesises for a struct, with the struct's own access level.
///
/// Swift's synthesised memberwise initialiser is at most `internal`, so every `public` record that another module
/// builds (store records, requests, reports: most of `SluiceCore`) needed the same hand-written
/// `public init(a: A, b: B) { self.a = a; self.b = b }`. This macro generates it instead, by Swift's rules:
/// - one parameter per stored instance property, in declaration order, labelled with its name and annotated type;
///   `static` and computed properties and `let` constants with an initial value are left out;
/// - a property's initial value is its parameter's default; an optional `var` (`T?`, `T!`) without one defaults to `nil`;
/// - a function-typed parameter (or one typed by the struct's own alias of a function type) is `@escaping`.
/// It applies to structs only, and needs each stored property's type written out.
public struct MemberwiseInitMacro: MemberMacro {
    public static func expansion(
        of node: AttributeSyntax,
        providingMembersOf declaration: some DeclGroupSyntax,
        conformingTo protocols: [TypeSyntax],
        in context: some MacroExpansionContext
    ) throws -> [DeclSyntax] {
        guard let structDecl = declaration.as(StructDeclSyntax.self) else {
            context.diagnose(notAStruct(node, declaration))
            return []
        }
        var parameters: [String] = []
        var assignments: [String] = []
        var complete = true
        // Function types the struct names by its own typealiases (`typealias Deliver = @Sendable (…) -> …`).
        let functionAliases = Set(
            structDecl.memberBlock.members.compactMap { member -> String? in
                guard let alias = member.decl.as(TypeAliasDeclSyntax.self), isFunction(alias.initializer.value, [])
                else { return nil }
                return alias.name.text
            })
        for member in structDecl.memberBlock.members {
            guard let variable = member.decl.as(VariableDeclSyntax.self), isStoredInstance(variable) else { continue }
            let isLet = variable.bindingSpecifier.tokenKind == .keyword(.let)
            // In `var a, b: Int`, `a` takes the type written after `b`.
            var sharedType: TypeSyntax?
            var stored: [(name: String, type: TypeSyntax?, value: ExprSyntax?)] = []
            for binding in variable.bindings.reversed() {
                if binding.initializer != nil { sharedType = nil }
                sharedType = binding.typeAnnotation?.type ?? sharedType
                guard let name = binding.pattern.as(IdentifierPatternSyntax.self)?.identifier.trimmedDescription,
                    binding.accessorBlock.map(isObserversOnly) ?? true, !(isLet && binding.initializer != nil)
                else { continue }
                if sharedType == nil { context.diagnose(missingType(binding, name: name)) }
                stored.insert((name, sharedType, binding.initializer?.value), at: 0)
            }
            for (name, type, value) in stored {
                guard let type else {
                    complete = false
                    continue
                }
                let defaultValue =
                    value.map { " = \($0.trimmedDescription)" } ?? (!isLet && isOptional(type) ? " = nil" : "")
                let escaping = isFunction(type, functionAliases) ? "@escaping " : ""
                parameters.append("\(name): \(escaping)\(type.trimmedDescription)\(defaultValue)")
                assignments.append("self.\(name) = \(name)")
            }
        }
        guard complete else { return [] }
        let access = accessLevel(of: structDecl.modifiers)
        let header = "\(access)init(\(parameters.joined(separator: ", ")))"
        return ["\(raw: header) {\n\(raw: assignments.joined(separator: "\n"))\n}"]
    }

    /// A stored instance property: not `static`/`class`, not `lazy`, not computed.
    private static func isStoredInstance(_ variable: VariableDeclSyntax) -> Bool {
        !variable.modifiers.contains {
            [.keyword(.static), .keyword(.class), .keyword(.lazy)].contains($0.name.tokenKind)
        }
    }

    /// `willSet`/`didSet` leave a property stored; a getter (or `get`/`set`, `_read`, …) makes it computed.
    private static func isObserversOnly(_ block: AccessorBlockSyntax) -> Bool {
        guard case .accessors(let accessors) = block.accessors else { return false }
        return accessors.allSatisfy {
            [.keyword(.willSet), .keyword(.didSet)].contains($0.accessorSpecifier.tokenKind)
        }
    }

    private static func isOptional(_ type: TypeSyntax) -> Bool {
        // As in Swift, only the sugared spellings (`T?`, `T!`) start out nil; `Optional<T>` does not.
        type.is(OptionalTypeSyntax.self) || type.is(ImplicitlyUnwrappedOptionalTypeSyntax.self)
    }

    /// A bare function type (maybe `@Sendable`), or one of the struct's aliases of one; an optional one is escaping
    /// already. (An alias declared outside the struct is not seen: spell the type, or write the init.)
    private static func isFunction(_ type: TypeSyntax, _ aliases: Set<String>) -> Bool {
        let base = type.as(AttributedTypeSyntax.self)?.baseType ?? type
        return base.is(FunctionTypeSyntax.self)
            || base.as(IdentifierTypeSyntax.self).map { aliases.contains($0.name.text) } == true
    }

    /// The struct's access level; `private` becomes `fileprivate` so that the struct's own scope can call it.
    private static func accessLevel(of modifiers: DeclModifierListSyntax) -> String {
        for modifier in modifiers {
            switch modifier.name.tokenKind {
            case .keyword(.public), .keyword(.package), .keyword(.fileprivate): return "\(modifier.name.text) "
            case .keyword(.private): return "fileprivate "
            default: continue
            }
        }
        return ""
    }

    private static func notAStruct(_ node: AttributeSyntax, _ declaration: some DeclGroupSyntax) -> Diagnostic {
        let kind = declaration.introducer.text
        let others = declaration.attributes.filter { $0.trimmedDescription != node.trimmedDescription }
        return error(
            at: node, "notAStruct",
            "@MemberwiseInit applies to a struct only, not to this \(kind); write the \(kind)'s init by hand",
            fix: "remove '@MemberwiseInit'", replacing: declaration.attributes, with: others)
    }

    private static func missingType(_ binding: PatternBindingSyntax, name: String) -> Diagnostic {
        let annotation = TypeAnnotationSyntax(
            colon: .colonToken(trailingTrivia: .space), type: TypeSyntax("<#Type#>"),
            trailingTrivia: binding.pattern.trailingTrivia)
        return error(
            at: binding.pattern, "missingType",
            "@MemberwiseInit needs the type of stored property '\(name)' for its parameter; "
                + "write it, as in '\(name): Type'",
            fix: "add a type annotation to '\(name)'", replacing: binding,
            with: binding.with(\.pattern, binding.pattern.trimmed).with(\.typeAnnotation, annotation))
    }

    /// An error at `node`, with a fix-it that puts `new` in place of `old`.
    private static func error(
        at node: some SyntaxProtocol, _ id: String, _ message: String, fix: String, replacing old: some SyntaxProtocol,
        with new: some SyntaxProtocol
    ) -> Diagnostic {
        Diagnostic(
            node: node, message: MemberwiseInitMessage(id: id, severity: .error, message: message),
            fixIt: FixIt(
                message: MemberwiseInitMessage(id: "\(id).fix", severity: .note, message: fix),
                changes: [.replace(oldNode: Syntax(old), newNode: Syntax(new))]))
    }
}

/// The macro's diagnostics and fix-its.
struct MemberwiseInitMessage: DiagnosticMessage, FixItMessage {
    let id: String
    let severity: DiagnosticSeverity
    let message: String
    var diagnosticID: MessageID { MessageID(domain: "SluiceMacros", id: id) }
    var fixItID: MessageID { diagnosticID }
}

@main
struct SluiceMacrosPlugin: CompilerPlugin {
    let providingMacros: [any Macro.Type] = [MemberwiseInitMacro.self]
}
