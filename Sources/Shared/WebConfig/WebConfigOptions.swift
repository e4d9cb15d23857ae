import ArgumentParser
import Foundation

/// `--web.config.file`, as both servers and their `check-config` take it (Prometheus's flag).
public struct WebConfigOptions: ParsableArguments {
    @Option(
        name: .customLong("web.config.file"),
        help: "Web config (Prometheus's format): TLS, basic-auth users, response headers. Re-read on reload.")
    public var file: String?

    public init() {}

    /// The file loaded, or nil without the flag; exits with status 1 and every error otherwise.
    public func load(program: String) throws -> WebConfig? {
        guard let file else { return nil }
        do {
            return try WebConfig.load(file: file)
        } catch {
            FileHandle.standardError.write(Data("\(program): the web config has errors:\n\(error)\n".utf8))
            throw ExitCode(1)
        }
    }

    /// For `check-config`: the file's summary line, or its errors on standard error; false if any.
    public func check() -> Bool {
        guard let file else { return true }
        do {
            let config = try WebConfig.load(file: file)
            print("\(file): OK (web config: \(config.summary))")
            return true
        } catch {
            FileHandle.standardError.write(Data("\(error)\n".utf8))
            return false
        }
    }

    /// `check-config`: the web config, then `file` (its summary from `summarise`, which loads it),
    /// each printed as OK or with its errors on standard error; exits 1 if either has any.
    public func checkConfig(_ file: String?, summarise: (String) throws -> String) throws {
        let webOK = check()
        if let file {
            do {
                print("\(file): OK (\(try summarise(file)))")
            } catch {
                FileHandle.standardError.write(Data("\(error)\n".utf8))
                throw ExitCode(1)
            }
        }
        if !webOK { throw ExitCode(1) }
    }
}
