import Foundation
import NIOSSL

/// Certificates made by openssl for one test: a CA, a server certificate for `subjectAltName`,
/// a client certificate from the same CA, and a client certificate from a CA nobody trusts.
public struct TestCertificates: Sendable {
    public let directory: String
    public var ca: String { directory + "/ca.pem" }
    public var serverCert: String { directory + "/server.pem" }
    public var serverKey: String { directory + "/server-key.pem" }
    public var clientCert: String { directory + "/client.pem" }
    public var clientKey: String { directory + "/client-key.pem" }
    /// Signed by a CA of its own, which no server here trusts.
    public var strangerCert: String { directory + "/stranger.pem" }
    public var strangerKey: String { directory + "/stranger-key.pem" }

    /// `subjectAltName` as openssl writes it: `DNS:target.canopy.test`, `IP:127.0.0.1,DNS:localhost`.
    public init(subjectAltName: String = "IP:127.0.0.1,DNS:localhost", directory: String? = nil) throws {
        let directory = directory ?? NSTemporaryDirectory() + "canopy-certs-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        self.directory = directory
        try Self.openssl(
            """
            openssl req -x509 -newkey rsa:2048 -nodes -keyout ca-key.pem -out ca.pem -days 2 -subj /CN=canopy-test-ca
            openssl req -newkey rsa:2048 -nodes -keyout server-key.pem -out server.csr -subj /CN=canopy-test-server
            printf 'subjectAltName=\(subjectAltName)\\n' > server.ext
            openssl x509 -req -in server.csr -CA ca.pem -CAkey ca-key.pem -CAcreateserial -out server.pem -days 2 -extfile server.ext
            openssl req -newkey rsa:2048 -nodes -keyout client-key.pem -out client.csr -subj /CN=canopy-test-client
            openssl x509 -req -in client.csr -CA ca.pem -CAkey ca-key.pem -CAcreateserial -out client.pem -days 2
            openssl req -x509 -newkey rsa:2048 -nodes -keyout stranger-key.pem -out stranger.pem -days 2 -subj /CN=canopy-test-stranger
            """, in: directory)
    }

    /// A new server certificate and key in place of the old ones, from a new CA written to
    /// `ca-2.pem`: a client that trusts only the new CA can tell which one a server presents.
    public func rotateServerCertificate(subjectAltName: String = "IP:127.0.0.1,DNS:localhost") throws -> String {
        try Self.openssl(
            """
            openssl req -x509 -newkey rsa:2048 -nodes -keyout ca-2-key.pem -out ca-2.pem -days 2 -subj /CN=canopy-test-ca-2
            openssl req -newkey rsa:2048 -nodes -keyout server-2-key.pem -out server-2.csr -subj /CN=canopy-test-server-2
            printf 'subjectAltName=\(subjectAltName)\\n' > server-2.ext
            openssl x509 -req -in server-2.csr -CA ca-2.pem -CAkey ca-2-key.pem -CAcreateserial -out server-2.pem -days 2 -extfile server-2.ext
            mv server-2.pem server.pem
            mv server-2-key.pem server-key.pem
            """, in: directory)
        return directory + "/ca-2.pem"
    }

    /// A client that trusts the CA in `caFile` alone.
    public static func trusting(_ caFile: String) throws -> TLSConfiguration {
        var configuration = TLSConfiguration.makeClientConfiguration()
        configuration.trustRoots = .certificates(try NIOSSLCertificate.fromPEMFile(caFile))
        return configuration
    }

    /// A client that trusts `ca` (this set's CA by default) and presents `certificate` and `key`, if given.
    public func client(trusting ca: String? = nil, certificate: String? = nil, key: String? = nil) throws -> TLSConfiguration {
        var configuration = try Self.trusting(ca ?? self.ca)
        if let certificate, let key {
            configuration.certificateChain = try NIOSSLCertificate.fromPEMFile(certificate).map { .certificate($0) }
            configuration.privateKey = .privateKey(try NIOSSLPrivateKey(file: key, format: .pem))
        }
        return configuration
    }

    private static func openssl(_ commands: String, in directory: String) throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/sh")
        process.arguments = [
            "-c", "set -e\ncd '\(directory)'\n" + commands.split(separator: "\n").map { "\($0) 2>/dev/null" }.joined(separator: "\n"),
        ]
        try process.run()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            throw TestFailure("openssl failed to make test certificates in \(directory) (is openssl installed?)")
        }
    }
}
