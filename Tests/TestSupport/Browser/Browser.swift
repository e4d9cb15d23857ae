import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1
import Synchronization

/// A window size. `desktop` is the size the UI is designed for; `phone` a narrow phone.
public struct BrowserWindow: Sendable, Equatable {
    public var width: Int
    public var height: Int

    public init(width: Int, height: Int) {
        self.width = width
        self.height = height
    }

    public static let desktop = BrowserWindow(width: 1280, height: 800)
    public static let phone = BrowserWindow(width: 390, height: 844)
}

/// What went wrong in the browser, named: "no element matches 'table.groups tr'",
/// "navigate to http://...: unknown error: net::ERR_CONNECTION_REFUSED".
public struct BrowserError: Error, CustomStringConvertible {
    /// The WebDriver error code (`no such element`, `javascript error`, ...), or "" for the harness's own.
    public let code: String
    public let description: String

    public init(_ description: String, code: String = "") {
        self.code = code
        self.description = description
    }

    /// Not there yet, or asked while the page was navigating away (the form posted): worth asking again.
    public var isTransient: Bool { code == "no such element" || description.contains("aborted by navigation") }
}

/// Headless Chromium driven over W3C WebDriver by Debian's chromedriver, for tests that open
/// pages as a person would. `withBrowser` starts chromedriver on a free port and a session,
/// and on every way out deletes the session and stops chromedriver with all it started.
///
///     try await Browser.withBrowser { browser in
///         try await browser.open("http://127.0.0.1:\(port)/")
///         let rows = try await browser.findAll("table.groups tbody tr")
///         #expect(try await browser.alertText() == nil)
///     }
public final class Browser: Sendable {
    public static let chromium = "/usr/bin/chromium"
    public static let chromedriver = "/usr/bin/chromedriver"

    /// Whether Chromium and chromedriver are there (scripts/install-test-deps installs them).
    public static var isInstalled: Bool {
        FileManager.default.isExecutableFile(atPath: chromium) && FileManager.default.isExecutableFile(atPath: chromedriver)
    }

    public let driver: ChildProcess
    private let base: String
    public let sessionID: String
    private let closed = Mutex(false)

    private init(driver: ChildProcess, base: String, sessionID: String) {
        self.driver = driver
        self.base = base
        self.sessionID = sessionID
    }

    /// Runs `body` with a browser of `window`'s size and closes the browser on every way out.
    public static func withBrowser<Result: Sendable>(window: BrowserWindow = .desktop, _ body: (Browser) async throws -> Result) async throws
        -> Result
    {
        let browser = try await start(window: window)
        do {
            let result = try await body(browser)
            await browser.close()
            return result
        } catch {
            await browser.close()
            throw error
        }
    }

    /// Starts chromedriver and a session. Prefer `withBrowser`; whoever calls this must `close()`.
    public static func start(window: BrowserWindow = .desktop) async throws -> Browser {
        guard isInstalled else { throw BrowserError("\(chromium) or \(chromedriver) is missing: run scripts/install-test-deps") }
        let driver = try await startDriver()
        let base = "http://127.0.0.1:\(driver.port)"
        let arguments = [
            "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--window-size=\(window.width),\(window.height)",
        ]
        let capabilities: WebDriverValue = [
            "capabilities": [
                "alwaysMatch": [
                    "browserName": "chrome",
                    // Leave an alert open, so that a test can see that one was (or was not) raised.
                    "unhandledPromptBehavior": "ignore",
                    "timeouts": ["pageLoad": 30000, "script": 10000, "implicit": 0],
                    "goog:chromeOptions": ["binary": .string(chromium), "args": .array(arguments.map { .string($0) })],
                ]
            ]
        ]
        do {
            let value = try await command(base: base, .POST, "/session", capabilities, what: "start a Chromium session")
            guard let sessionID = value["sessionId"]?.string else {
                throw BrowserError("start a Chromium session: no sessionId in \(value)")
            }
            let browser = Browser(driver: driver.process, base: base, sessionID: sessionID)
            do {
                try await browser.resize(window)
            } catch {
                await browser.close()
                throw error
            }
            return browser
        } catch {
            driver.process.terminate()
            try? FileManager.default.removeItem(atPath: driver.process.logPath)
            throw error
        }
    }

    /// chromedriver on a free port, once it answers `/status` as ready. A port taken between
    /// choosing and binding it makes chromedriver exit: then it tries another.
    private static func startDriver() async throws -> (process: ChildProcess, port: Int) {
        var lastLog = ""
        for _ in 0..<3 {
            let port = try freePort()
            let logPath = FileManager.default.temporaryDirectory.appendingPathComponent("canopy-chromedriver-\(UUID().uuidString).log").path
            let process = try ChildProcess.spawn(chromedriver, ["--port=\(port)"], logPath: logPath)
            let deadline = ContinuousClock.now + .seconds(30)
            while ContinuousClock.now < deadline, !process.hasExited {
                if let status = try? await command(base: "http://127.0.0.1:\(port)", .GET, "/status", nil, what: "status", timeout: .seconds(2)),
                    status["ready"]?.bool == true
                {
                    return (process, port)
                }
                try await Task.sleep(for: .milliseconds(50))
            }
            lastLog = process.logTail
            process.terminate()
            try? FileManager.default.removeItem(atPath: logPath)
        }
        throw BrowserError("chromedriver did not become ready:\n\(lastLog)")
    }

    /// Deletes the session (Chromium quits) and stops chromedriver and anything left of its
    /// process group. Safe to call twice.
    public func close() async {
        guard
            closed.withLock({ closed in
                defer { closed = true }; return !closed
            })
        else { return }
        _ = try? await Self.command(base: base, .DELETE, "/session/\(sessionID)", nil, what: "end the session", timeout: .seconds(10))
        driver.terminate()
        try? FileManager.default.removeItem(atPath: driver.logPath)
    }

    // MARK: - Pages

    /// Navigates and waits for the page's load event (so deferred scripts have run).
    public func open(_ url: String) async throws {
        _ = try await session(.POST, "/url", ["url": .string(url)], what: "open \(url)")
    }

    public func currentURL() async throws -> String {
        try await session(.GET, "/url", what: "read the current URL").string ?? ""
    }

    public func title() async throws -> String {
        try await session(.GET, "/title", what: "read the title").string ?? ""
    }

    public func pageSource() async throws -> String {
        try await session(.GET, "/source", what: "read the page source").string ?? ""
    }

    /// Sets the window's size; the viewport (`window.innerWidth`) follows.
    public func resize(_ window: BrowserWindow) async throws {
        _ = try await session(
            .POST,
            "/window/rect",
            ["width": .number(Double(window.width)), "height": .number(Double(window.height))],
            what: "resize to \(window.width)x\(window.height)"
        )
    }

    /// Emulates `prefers-color-scheme: dark` (or light), to see the dark theme (Chromium's DevTools protocol).
    public func emulateColorScheme(dark: Bool) async throws {
        let feature: WebDriverValue = ["name": "prefers-color-scheme", "value": dark ? "dark" : "light"]
        _ = try await session(
            .POST,
            "/goog/cdp/execute",
            ["cmd": "Emulation.setEmulatedMedia", "params": ["features": [feature]]],
            what: "emulate a \(dark ? "dark" : "light") colour scheme"
        )
    }

    /// Runs `script` as a function body (`return ...` gives the result) with `arguments`
    /// (an element's `reference` passes the element).
    @discardableResult
    public func execute(_ script: String, _ arguments: [WebDriverValue] = []) async throws -> WebDriverValue {
        try await session(.POST, "/execute/sync", ["script": .string(script), "args": .array(arguments)], what: "run script `\(script.prefix(80))`")
    }

    /// Writes a PNG of the viewport to `path`.
    public func screenshot(to path: String) async throws {
        let encoded = try await session(.GET, "/screenshot", what: "take a screenshot").string ?? ""
        guard let png = Data(base64Encoded: encoded) else { throw BrowserError("take a screenshot: the answer is not base64") }
        do {
            try png.write(to: URL(fileURLWithPath: path))
        } catch {
            throw BrowserError("write the screenshot to \(path): \(error)")
        }
    }

    /// The text of the open alert, confirm or prompt, or nil when none is open.
    public func alertText() async throws -> String? {
        do {
            return try await session(.GET, "/alert/text", what: "read the alert").string
        } catch let error as BrowserError where error.code == "no such alert" {
            return nil
        }
    }

    public func dismissAlert() async throws {
        _ = try await session(.POST, "/alert/dismiss", [:], what: "dismiss the alert")
    }

    /// Answers an open prompt with `text` and accepts it.
    public func acceptPrompt(_ text: String? = nil) async throws {
        if let text { _ = try await session(.POST, "/alert/text", ["text": .string(text)], what: "type into the prompt") }
        _ = try await session(.POST, "/alert/accept", [:], what: "accept the alert")
    }

    // MARK: - Elements

    /// The first element matching the CSS selector; throws "no element matches '...'".
    public func find(_ selector: String) async throws -> BrowserElement {
        do {
            let value = try await session(.POST, "/element", ["using": "css selector", "value": .string(selector)], what: "find '\(selector)'")
            return try BrowserElement(browser: self, selector: selector, reference: value)
        } catch let error as BrowserError where error.code == "no such element" {
            throw BrowserError("no element matches '\(selector)'", code: error.code)
        }
    }

    /// Every element matching the CSS selector (none is not an error).
    public func findAll(_ selector: String) async throws -> [BrowserElement] {
        let value = try await session(.POST, "/elements", ["using": "css selector", "value": .string(selector)], what: "find all '\(selector)'")
        return try (value.array ?? []).map { try BrowserElement(browser: self, selector: selector, reference: $0) }
    }

    /// Waits until an element matches (a page that renders or navigates after a click).
    public func waitFor(_ selector: String, timeout: Duration = .seconds(10)) async throws -> BrowserElement {
        let deadline = ContinuousClock.now + timeout
        while true {
            do {
                return try await find(selector)
            } catch let error as BrowserError where error.isTransient && ContinuousClock.now < deadline {
                try await Task.sleep(for: .milliseconds(50))
            }
        }
    }

    // MARK: - WebDriver over HTTP

    func session(_ method: HTTPMethod, _ path: String, _ body: WebDriverValue? = nil, what: String) async throws -> WebDriverValue {
        try await Self.command(base: base, method, "/session/\(sessionID)\(path)", body, what: what)
    }

    static func command(
        base: String,
        _ method: HTTPMethod,
        _ path: String,
        _ body: WebDriverValue?,
        what: String,
        timeout: Duration = .seconds(60)
    ) async throws -> WebDriverValue {
        var request = HTTPClientRequest(url: base + path)
        request.method = method
        request.headers.add(name: "Content-Type", value: "application/json; charset=utf-8")
        if method == .POST {
            request.body = .bytes(ByteBuffer(bytes: try JSONEncoder().encode(body ?? [:])))
        }
        let response: HTTPClientResponse
        let bytes: ByteBuffer
        do {
            response = try await HTTPClient.shared.execute(request, timeout: .seconds(timeout.components.seconds))
            bytes = try await response.body.collect(upTo: 64 << 20)
        } catch {
            throw BrowserError("\(what): no answer from chromedriver: \(error)")
        }
        guard let answer = try? JSONDecoder().decode(WebDriverValue.self, from: Data(buffer: bytes)), let value = answer["value"] else {
            throw BrowserError("\(what): chromedriver answered \(response.status.code) with: \(String(buffer: bytes).prefix(300))")
        }
        if response.status.code >= 400 || value["error"] != nil, let code = value["error"]?.string {
            // The message's first line names the problem; the rest is chromedriver's stack.
            let message = (value["message"]?.string ?? "").split(separator: "\n").first.map(String.init) ?? ""
            throw BrowserError("\(what): \(message.isEmpty ? code : message)", code: code)
        }
        return value
    }
}

/// An element found in the page.
public struct BrowserElement: Sendable {
    /// W3C's key for element references.
    static let key = "element-6066-11e4-a52e-4f735466cecf"

    public let browser: Browser
    public let id: String
    /// How it was found, for messages.
    public let selector: String

    init(browser: Browser, selector: String, reference: WebDriverValue) throws {
        guard let id = reference[Self.key]?.string else { throw BrowserError("find '\(selector)': not an element reference: \(reference)") }
        self.browser = browser
        self.id = id
        self.selector = selector
    }

    /// Passes the element to `Browser.execute` as an argument.
    public var reference: WebDriverValue { [Self.key: .string(id)] }

    /// The rendered text (what a person sees).
    public func text() async throws -> String {
        try await call(.GET, "/text", what: "read the text of '\(selector)'").string ?? ""
    }

    /// An attribute as written in the markup, or nil when absent.
    public func attribute(_ name: String) async throws -> String? {
        try await call(.GET, "/attribute/\(name)", what: "read attribute \(name) of '\(selector)'").string
    }

    /// A DOM property (`value`, `checked`, `href` resolved).
    public func property(_ name: String) async throws -> WebDriverValue {
        try await call(.GET, "/property/\(name)", what: "read property \(name) of '\(selector)'")
    }

    /// A computed CSS value (`color`, `display`).
    public func cssValue(_ name: String) async throws -> String {
        try await call(.GET, "/css/\(name)", what: "read CSS \(name) of '\(selector)'").string ?? ""
    }

    public func click() async throws {
        _ = try await call(.POST, "/click", [:], what: "click '\(selector)'")
    }

    /// Types `text` into an input, after what it holds.
    public func type(_ text: String) async throws {
        _ = try await call(.POST, "/value", ["text": .string(text)], what: "type into '\(selector)'")
    }

    public func clear() async throws {
        _ = try await call(.POST, "/clear", [:], what: "clear '\(selector)'")
    }

    /// Submits the element's form (or the form itself) as a person would: submit handlers run.
    public func submit() async throws {
        let submitted = try await browser.execute(
            "var e = arguments[0]; var f = e.tagName === 'FORM' ? e : e.form; if (!f) { return false; } f.requestSubmit(); return true;",
            [reference]
        )
        guard submitted.bool == true else { throw BrowserError("submit '\(selector)': it is not in a form") }
    }

    private func call(_ method: HTTPMethod, _ path: String, _ body: WebDriverValue? = nil, what: String) async throws -> WebDriverValue {
        try await browser.session(method, "/element/\(id)\(path)", body, what: what)
    }
}
