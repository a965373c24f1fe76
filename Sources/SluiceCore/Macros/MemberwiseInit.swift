/// Generates the memberwise initialiser Swift would synthesise for a struct, but with the struct's access level:
/// `public init(…)` for a public struct, so a record built in another module needs no hand-written init.
///
/// Parameters follow the stored properties in declaration order; an initial value becomes the default, and an
/// optional `var` without one defaults to `nil`. Each stored property needs its type written out.
@attached(member, names: named(init))
public macro MemberwiseInit() = #externalMacro(module: "SluiceMacros", type: "MemberwiseInitMacro")
