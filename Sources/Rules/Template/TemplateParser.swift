import PromQL

/// Go's template parser (`text/template/parse/parse.go`, Go 1.19), ported function for function:
/// the same grammar, the same three-token lookahead (which decides the line an error names) and
/// the same messages, `template: NAME:LINE: …`.
///
/// `{{define}}` and `{{block}}` parse into trees of their own that share the token stream, as in
/// Go; all trees land in one set, keyed by name.
struct TemplateParser {
    /// What every tree of one parse shares: the tokens and the trees parsed so far.
    private final class Shared {
        let items: [TemplateItem]
        var next = 0
        var trees: [String: [TemplateNode]] = [:]
        let functions: Set<String>
        let parseName: String
        /// Nesting of parenthesised pipelines and control structures, bounded so that hostile
        /// text cannot exhaust the stack (Go has no such bound; no real template comes near it).
        var depth = 0

        init(items: [TemplateItem], functions: Set<String>, parseName: String) {
            self.items = items
            self.functions = functions
            self.parseName = parseName
        }

        func nextItem() -> TemplateItem {
            guard next < items.count else { return .afterEnd }
            defer { next += 1 }
            return items[next]
        }
    }

    static let maximumDepth = 100

    private let shared: Shared
    private var name: String
    private var token: [TemplateItem] = [.afterEnd, .afterEnd, .afterEnd]
    private var peekCount = 0
    private var vars: [String] = ["$"]
    private var actionLine = 0
    private var rangeDepth = 0

    private init(shared: Shared, name: String) {
        self.shared = shared
        self.name = name
    }

    /// Every template `text` defines, the top-level one under `name`. `functions` are the names a
    /// command may call: Go rejects any other identifier at parse time.
    static func parse(_ text: String, name: String, functions: Set<String>) throws(TemplateError) -> [String: [TemplateNode]] {
        let shared = Shared(items: TemplateLexer.items(text), functions: functions, parseName: name)
        var tree = TemplateParser(shared: shared, name: name)
        do {
            let root = try tree.parseTop()
            try tree.add(root)
        } catch {
            throw TemplateError(stage: .parse, message: error.message)
        }
        return shared.trees
    }

    struct Failure: Error { var message: String }

    // MARK: - Tokens

    private mutating func next() -> TemplateItem {
        if peekCount > 0 {
            peekCount -= 1
        } else {
            token[0] = shared.nextItem()
        }
        return token[peekCount]
    }

    private mutating func backup() { peekCount += 1 }

    private mutating func backup2(_ t1: TemplateItem) {
        token[1] = t1
        peekCount = 2
    }

    private mutating func backup3(_ t2: TemplateItem, _ t1: TemplateItem) {
        token[1] = t1
        token[2] = t2
        peekCount = 3
    }

    private mutating func peek() -> TemplateItem {
        if peekCount > 0 { return token[peekCount - 1] }
        peekCount = 1
        token[0] = shared.nextItem()
        return token[0]
    }

    private mutating func nextNonSpace() -> TemplateItem {
        while true {
            let item = next()
            if item.kind != .space { return item }
        }
    }

    private mutating func peekNonSpace() -> TemplateItem {
        let item = nextNonSpace()
        backup()
        return item
    }

    // MARK: - Errors

    private func errorf(_ message: String) -> Failure {
        Failure(message: "template: \(shared.parseName):\(token[0].line): \(message)")
    }

    private mutating func expect(_ kind: TemplateItem.Kind, _ context: String) throws(Failure) -> TemplateItem {
        let item = nextNonSpace()
        if item.kind != kind { throw unexpected(item, context) }
        return item
    }

    private func unexpected(_ item: TemplateItem, _ context: String) -> Failure {
        if item.kind == .error {
            var extra = ""
            if actionLine != 0, actionLine != item.line {
                extra = " in action started at \(shared.parseName):\(actionLine)"
                if item.value.hasSuffix(" action") { extra = String(extra.dropFirst(" in action".count)) }
            }
            return errorf(item.description + extra)
        }
        return errorf("unexpected \(item.description) in \(context)")
    }

    private func deeper() throws(Failure) {
        shared.depth += 1
        if shared.depth > Self.maximumDepth { throw errorf("template nests deeper than \(Self.maximumDepth) levels") }
    }

    // MARK: - Trees

    /// Go's `add`: a name may be defined twice only if one of the definitions is empty.
    private func add(_ root: [TemplateNode]) throws(Failure) {
        if let existing = shared.trees[name], !TemplateNode.isEmpty(existing) {
            if !TemplateNode.isEmpty(root) { throw errorf("template: multiple definition of template \(GoText.quote(name))") }
            return
        }
        shared.trees[name] = root
    }

    private mutating func parseTop() throws(Failure) -> [TemplateNode] {
        var root: [TemplateNode] = []
        while peek().kind != .eof {
            if peek().kind == .leftDelim {
                let delim = next()
                if nextNonSpace().kind == .define {
                    var definition = TemplateParser(shared: shared, name: "definition")
                    try definition.parseDefinition()
                    continue
                }
                backup2(delim)
            }
            switch try textOrAction() {
            case .node(let node): root.append(node)
            case .end: throw errorf("unexpected {{end}}")
            case .elseItem: throw errorf("unexpected {{else}}")
            }
        }
        return root
    }

    private mutating func parseDefinition() throws(Failure) {
        let context = "define clause"
        let item = nextNonSpace()
        guard item.kind == .string || item.kind == .rawString else { throw unexpected(item, context) }
        do {
            name = try GoLiteral.unquote(item.value)
        } catch {
            throw errorf(error.message)
        }
        _ = try expect(.rightDelim, context)
        let (root, end) = try itemList()
        guard case .end = end else { throw errorf("unexpected \(end.description) in \(context)") }
        try add(root)
    }

    /// What ends an item list: `{{end}}` or `{{else}}` (with its position and line).
    private enum Terminator {
        case end
        case elseItem(pos: Int, line: Int)

        var description: String {
            switch self {
            case .end: return "{{end}}"
            case .elseItem: return "{{else}}"
            }
        }
    }

    private enum Parsed {
        case node(TemplateNode)
        case end
        case elseItem(pos: Int, line: Int)
    }

    private mutating func itemList() throws(Failure) -> ([TemplateNode], Terminator) {
        var list: [TemplateNode] = []
        while peekNonSpace().kind != .eof {
            switch try textOrAction() {
            case .node(let node): list.append(node)
            case .end: return (list, .end)
            case .elseItem(let pos, let line): return (list, .elseItem(pos: pos, line: line))
            }
        }
        throw errorf("unexpected EOF")
    }

    private mutating func textOrAction() throws(Failure) -> Parsed {
        let item = nextNonSpace()
        switch item.kind {
        case .text:
            return .node(.text(pos: item.pos, item.value))
        case .leftDelim:
            actionLine = item.line
            defer { actionLine = 0 }
            return try action()
        default:
            throw unexpected(item, "input")
        }
    }

    private mutating func action() throws(Failure) -> Parsed {
        let item = nextNonSpace()
        switch item.kind {
        case .block: return .node(try blockControl())
        case .breakKeyword: return .node(try loopControl(item, keyword: "break"))
        case .continueKeyword: return .node(try loopControl(item, keyword: "continue"))
        case .elseKeyword: return try elseControl()
        case .end:
            _ = try expect(.rightDelim, "end")
            return .end
        case .ifKeyword: return .node(.ifNode(try parseControl(allowElseIf: true, "if")))
        case .range: return .node(.range(try parseControl(allowElseIf: false, "range")))
        case .template: return .node(try templateControl())
        case .with: return .node(.with(try parseControl(allowElseIf: false, "with")))
        default: break
        }
        backup()
        let start = peek()
        return .node(.action(pos: start.pos, line: start.line, try pipeline("command", end: .rightDelim)))
    }

    private mutating func loopControl(_ keywordItem: TemplateItem, keyword: String) throws(Failure) -> TemplateNode {
        let item = nextNonSpace()
        if item.kind != .rightDelim { throw unexpected(item, "{{\(keyword)}}") }
        if rangeDepth == 0 { throw errorf("{{\(keyword)}} outside {{range}}") }
        return keyword == "break" ? .breakNode(pos: keywordItem.pos) : .continueNode(pos: keywordItem.pos)
    }

    private mutating func pipeline(_ context: String, end: TemplateItem.Kind) throws(Failure) -> TemplatePipe {
        let first = peekNonSpace()
        var pipe = TemplatePipe(pos: first.pos, line: first.line)
        declarations: while true {
            let v = peekNonSpace()
            guard v.kind == .variable else { break }
            _ = next()
            let tokenAfterVariable = peek()
            let following = peekNonSpace()
            if following.kind == .assign || following.kind == .declare {
                pipe.isAssign = following.kind == .assign
                _ = nextNonSpace()
                pipe.declarations.append(TemplateVariable(pos: v.pos, names: Self.names(v.value)))
                vars.append(v.value)
            } else if following.kind == .char, following.value == "," {
                _ = nextNonSpace()
                pipe.declarations.append(TemplateVariable(pos: v.pos, names: Self.names(v.value)))
                vars.append(v.value)
                if context == "range", pipe.declarations.count < 2 {
                    switch peekNonSpace().kind {
                    case .variable, .rightDelim, .rightParen: continue declarations
                    default: throw errorf("range can only initialize variables")
                    }
                }
                throw errorf("too many declarations in \(context)")
            } else if tokenAfterVariable.kind == .space {
                backup3(v, tokenAfterVariable)
            } else {
                backup2(v)
            }
            break
        }
        while true {
            let item = nextNonSpace()
            switch item.kind {
            case end:
                try checkPipeline(pipe, context)
                return pipe
            case .bool, .charConstant, .complex, .dot, .field, .identifier, .number, .nilKeyword, .rawString, .string, .variable, .leftParen:
                backup()
                pipe.commands.append(try command())
            default:
                throw unexpected(item, context)
            }
        }
    }

    private func checkPipeline(_ pipe: TemplatePipe, _ context: String) throws(Failure) {
        if pipe.commands.isEmpty { throw errorf("missing value for \(context)") }
        for (index, command) in pipe.commands.enumerated().dropFirst() {
            switch command.args[0] {
            case .bool, .dot, .nilValue, .number, .string: throw errorf("non executable command in pipeline stage \(index + 1)")
            default: continue
            }
        }
    }

    private mutating func parseControl(allowElseIf: Bool, _ context: String) throws(Failure) -> TemplateBranch {
        try deeper()
        defer { shared.depth -= 1 }
        let mark = vars.count
        defer { vars.removeSubrange(mark...) }
        let pipe = try pipeline(context, end: .rightDelim)
        if context == "range" { rangeDepth += 1 }
        var (list, terminator) = try itemList()
        if context == "range" { rangeDepth -= 1 }
        var elseList: [TemplateNode]?
        if case .elseItem = terminator {
            if allowElseIf, peek().kind == .ifKeyword {
                // `{{else if b}}` is `{{else}}{{if b}}…{{end}}{{end}}` with the last `{{end}}` implied.
                _ = next()
                elseList = [.ifNode(try parseControl(allowElseIf: true, "if"))]
            } else {
                (elseList, terminator) = try itemList()
                if case .elseItem = terminator { throw errorf("expected end; found {{else}}") }
            }
        }
        return TemplateBranch(pos: pipe.pos, line: pipe.line, pipe: pipe, list: list, elseList: elseList)
    }

    private mutating func elseControl() throws(Failure) -> Parsed {
        let item = peekNonSpace()
        if item.kind == .ifKeyword { return .elseItem(pos: item.pos, line: item.line) }
        let delim = try expect(.rightDelim, "else")
        return .elseItem(pos: delim.pos, line: delim.line)
    }

    private mutating func blockControl() throws(Failure) -> TemplateNode {
        let context = "block clause"
        let item = nextNonSpace()
        let blockName = try templateName(item, context)
        let pipe = try pipeline(context, end: .rightDelim)
        var block = TemplateParser(shared: shared, name: blockName)
        let (root, end) = try block.itemList()
        guard case .end = end else { throw errorf("unexpected \(end.description) in \(context)") }
        try block.add(root)
        return .template(TemplateCall(pos: item.pos, line: item.line, name: blockName, pipe: pipe))
    }

    private mutating func templateControl() throws(Failure) -> TemplateNode {
        let context = "template clause"
        let item = nextNonSpace()
        let calledName = try templateName(item, context)
        var pipe: TemplatePipe?
        if nextNonSpace().kind != .rightDelim {
            backup()
            pipe = try pipeline(context, end: .rightDelim)
        }
        return .template(TemplateCall(pos: item.pos, line: item.line, name: calledName, pipe: pipe))
    }

    private func templateName(_ item: TemplateItem, _ context: String) throws(Failure) -> String {
        guard item.kind == .string || item.kind == .rawString else { throw unexpected(item, context) }
        do {
            return try GoLiteral.unquote(item.value)
        } catch {
            throw errorf(error.message)
        }
    }

    private mutating func command() throws(Failure) -> TemplateCommand {
        var command = TemplateCommand(pos: peekNonSpace().pos, args: [])
        while true {
            _ = peekNonSpace()
            if let operand = try operand() { command.args.append(operand) }
            let item = next()
            switch item.kind {
            case .space: continue
            case .rightDelim, .rightParen: backup()
            case .pipe: break
            default: throw unexpected(item, "operand")
            }
            break
        }
        if command.args.isEmpty { throw errorf("empty command") }
        return command
    }

    private mutating func operand() throws(Failure) -> TemplateOperand? {
        guard let node = try term() else { return nil }
        guard peek().kind == .field else { return node }
        let chainPos = peek().pos
        var fields: [String] = []
        while peek().kind == .field { fields.append(String(next().value.dropFirst())) }
        switch node {
        case .field(_, let names):
            return .field(pos: chainPos, names: names + fields)
        case .variable(let variable):
            return .variable(TemplateVariable(pos: chainPos, names: variable.names + fields))
        case .bool, .string, .number, .nilValue, .dot:
            throw errorf("unexpected . after term \(GoText.quote(node.description))")
        default:
            return .chain(pos: chainPos, base: node, fields: fields)
        }
    }

    private mutating func term() throws(Failure) -> TemplateOperand? {
        let item = nextNonSpace()
        switch item.kind {
        case .identifier:
            if !shared.functions.contains(item.value) { throw errorf("function \(GoText.quote(item.value)) not defined") }
            return .identifier(pos: item.pos, name: item.value)
        case .dot: return .dot(pos: item.pos)
        case .nilKeyword: return .nilValue(pos: item.pos)
        case .variable: return .variable(try useVar(item))
        case .field: return .field(pos: item.pos, names: Self.names(String(item.value.dropFirst())))
        case .bool: return .bool(pos: item.pos, item.value == "true")
        case .charConstant, .complex, .number:
            do {
                return .number(try TemplateNumber.parse(item))
            } catch {
                throw errorf(error.message)
            }
        case .leftParen:
            try deeper()
            defer { shared.depth -= 1 }
            return .pipe(try pipeline("parenthesized pipeline", end: .rightParen))
        case .string, .rawString:
            do {
                return .string(pos: item.pos, quoted: item.value, text: try GoLiteral.unquote(item.value))
            } catch {
                throw errorf(error.message)
            }
        default:
            backup()
            return nil
        }
    }

    /// `$x.a.b` or `a.b` split at the dots.
    private static func names(_ text: String) -> [String] {
        text.split(separator: ".", omittingEmptySubsequences: false).map(String.init)
    }

    private func useVar(_ item: TemplateItem) throws(Failure) -> TemplateVariable {
        let variable = TemplateVariable(pos: item.pos, names: Self.names(item.value))
        if !vars.contains(variable.names[0]) { throw errorf("undefined variable \(GoText.quote(variable.names[0]))") }
        return variable
    }
}

extension TemplateNumber {
    /// Go's `newNumber`: every type the constant fits, or Go's error.
    static func parse(_ item: TemplateItem) throws(GoLiteral.SyntaxError) -> TemplateNumber {
        let text = item.value
        var number = TemplateNumber(pos: item.pos, text: text)
        switch item.kind {
        case .charConstant:
            let rune = try GoLiteral.unquoteRune(text)
            number.int = Int64(rune)
            number.uint = UInt64(rune)
            number.float = Double(rune)
            return number
        case .complex:
            guard let (re, im) = parseComplex(text) else { throw GoLiteral.SyntaxError(message: "expected integer") }
            number.complex = (re, im)
            number.simplifyComplex()
            return number
        default: break
        }
        if text.hasSuffix("i"), case .value(let im) = GoLiteral.parseFloat(String(text.dropLast())) {
            number.complex = (0, im)
            number.simplifyComplex()
            return number
        }
        let u = GoLiteral.parseUInt(text)
        number.uint = u
        if let i = GoLiteral.parseInt(text) {
            number.int = i
            if i == 0 { number.uint = u ?? 0 }
        }
        if let i = number.int {
            number.float = Double(i)
        } else if let u = number.uint {
            number.float = Double(u)
        } else if case .value(let f) = GoLiteral.parseFloat(text) {
            if !text.contains(where: { ".eEpP".contains($0) }) {
                throw GoLiteral.SyntaxError(message: "integer overflow: \(GoText.quote(text))")
            }
            number.float = f
            if let i = Int64(exactly: f) { number.int = i }
            if let u = UInt64(exactly: f) { number.uint = u }
        }
        if number.int == nil, number.uint == nil, number.float == nil {
            throw GoLiteral.SyntaxError(message: "illegal number syntax: \(GoText.quote(text))")
        }
        return number
    }

    private mutating func simplifyComplex() {
        guard let (re, im) = complex, im == 0 else { return }
        float = re
        int = Int64(exactly: re)
        uint = UInt64(exactly: re)
    }

    /// `1+2i` as `fmt.Sscan` reads it into a complex128.
    private static func parseComplex(_ text: String) -> (Double, Double)? {
        let scalars = Array(text)
        guard scalars.last == "i" else { return nil }
        var split = scalars.count - 2
        while split > 0 {
            if scalars[split] == "+" || scalars[split] == "-", scalars[split - 1] != "e", scalars[split - 1] != "E" { break }
            split -= 1
        }
        guard split > 0, case .value(let re) = GoLiteral.parseFloat(String(scalars[..<split])),
            case .value(let im) = GoLiteral.parseFloat(String(scalars[split..<(scalars.count - 1)]))
        else { return nil }
        return (re, im)
    }
}
