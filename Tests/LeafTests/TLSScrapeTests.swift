import Foundation
import Hummingbird
import HummingbirdTLS
import NIOSSL
import CanopyTestSupport
import Testing

@testable import Leaf

/// `scheme: https` with `tls_config`, against real TLS targets with certificates made by openssl:
/// a private CA, the server name a certificate is for, client certificates, and skipping checks.
@Suite struct TLSScrapeTests {
    @Test func tlsSettingsDecideWhichTargetsAreUp() async throws {
        let certificates = try TestCertificates(subjectAltName: "DNS:target.canopy.test", directory: LeafHarness.temporaryDirectory())
        let plain = FakeTarget()
        let mutual = FakeTarget()
        plain.report("tls-ok", total: 2)
        mutual.report("mtls-ok", total: 3)
        try await withServices([
            plain.makeApplication(server: try .tls(tlsConfiguration: certificates.serverTLS(requireClientCertificate: false))),
            mutual.makeApplication(server: try .tls(tlsConfiguration: certificates.serverTLS(requireClientCertificate: true))),
        ]) {
            let plainAddress = await plain.address()
            let mutualAddress = await mutual.address()
            func service(_ name: String, _ address: String, _ tls: String) -> String {
                """
                - name: \(name)
                  static_configs: [{targets: ['\(address)']}]
                  scraper: {endpoint: /-/exceptions}
                  scheme: https
                  tls_config: \(tls)
                """
            }
            let ca = certificates.ca
            let config = try LeafHarness.config(
                """
                global: {scrape_interval: 2s, scrape_timeout: 2s, external_labels: {team: sec}}
                services:
                \(service("named", plainAddress, "{ca_file: '\(ca)', server_name: target.canopy.test}"))
                \(service("unnamed", plainAddress, "{ca_file: '\(ca)'}"))
                \(service("untrusted", plainAddress, "{server_name: target.canopy.test}"))
                \(service("insecure", plainAddress, "{insecure_skip_verify: true}"))
                \(service("client", mutualAddress, "{ca_file: '\(ca)', server_name: target.canopy.test, cert_file: '\(certificates.clientCert)', key_file: '\(certificates.clientKey)'}"))
                \(service("anonymous", mutualAddress, "{ca_file: '\(ca)', server_name: target.canopy.test}"))
                """)
            try await LeafHarness.run(config, dataDir: LeafHarness.temporaryDirectory()) { leaf in
                func health(_ service: String, _ address: String) async throws -> (String?, String?) {
                    let report = try await leaf.json("/api/v1/targets") as? [String: Any]
                    let target = (report?["active_targets"] as? [[String: Any]])?.first { $0["service"] as? String == service }
                    return (target?["health"] as? String, target?["last_error"] as? String)
                }
                for (name, address) in [("named", plainAddress), ("insecure", plainAddress), ("client", mutualAddress)] {
                    try await expectEventually("\(name) should be up") { try await health(name, address).0 == "up" }
                }
                for (name, address) in [("unnamed", plainAddress), ("untrusted", plainAddress), ("anonymous", mutualAddress)] {
                    // Down with the TLS failure named (a busy machine may first time a handshake out).
                    try await expectEventually("\(name) should be down with a TLS error", timeout: .seconds(20)) {
                        let (health, error) = try await health(name, address)
                        return health == "down" && (error ?? "").hasPrefix("TLS") && !(error ?? "").contains("timed out")
                    }
                }
                #expect(try await leaf.totals(of: "named") == ["tls-ok": 2])
                #expect(try await leaf.totals(of: "client") == ["mtls-ok": 3])
            }
        }
    }
}

extension TestCertificates {
    func serverTLS(requireClientCertificate: Bool) throws -> TLSConfiguration {
        var configuration = TLSConfiguration.makeServerConfiguration(
            certificateChain: try NIOSSLCertificate.fromPEMFile(serverCert).map { .certificate($0) },
            privateKey: .privateKey(try NIOSSLPrivateKey(file: serverKey, format: .pem)))
        if requireClientCertificate {
            configuration.certificateVerification = .noHostnameVerification
            configuration.trustRoots = .certificates(try NIOSSLCertificate.fromPEMFile(ca))
        }
        return configuration
    }
}
