import CanopyTestSupport
import Foundation
import Testing
import Yams

/// What `deploy/` holds and cannot be run here (containers, Kubernetes, systemd) checked without
/// kubectl or docker: every YAML file parses; the Kubernetes manifests refer only to what they
/// define, their embedded configs pass the real binaries' `check-config`; the systemd units and
/// Dockerfiles start the binaries as they are meant to run. Each check is also shown to fail on
/// a file broken on purpose (the `...Catches...` tests), so that a check that can no longer fail
/// does not go unnoticed.
@Suite struct DeployFilesTests {
    // MARK: - YAML syntax

    @Test func everyYAMLFileUnderDeployParses() throws {
        let files = DeployTree.files(under: "deploy", extensions: ["yml", "yaml"])
        #expect(files.count >= 7, "found only \(files)")
        for file in files {
            let text = try DeployTree.read(file)
            #expect(throws: Never.self, "\(file)") { _ = try DeployYAML.documents(text, file: file) }
        }
    }

    @Test func aYAMLSyntaxErrorNamesTheFile() throws {
        let broken = "a: 1\n---\nkind: Service\nmetadata: {name: x\n"
        do {
            _ = try DeployYAML.documents(broken, file: "deploy/kubernetes/broken.yaml")
            Issue.record("a broken second document was accepted")
        } catch {
            #expect("\(error)".contains("deploy/kubernetes/broken.yaml"))
        }
        // Every document counts, not just the first.
        #expect(try DeployYAML.documents("a: 1\n---\nb: 2\n---\nc: 3\n", file: "x").count == 3)
    }

    // MARK: - Kubernetes

    @Test func kubernetesManifestsReferToWhatTheyDefine() throws {
        let check = try KubernetesCheck.load()
        #expect(check.problems() == [])
        #expect(check.deployments.count == 3)
        #expect(Set(check.leafTeams().values) == ["payments", "search"])
    }

    /// A broken copy of a manifest: `file` with `from` replaced by `to` must give a problem
    /// containing `expected`.
    struct Breakage: Sendable, CustomTestStringConvertible {
        let file: String
        let from: String
        let to: String
        let expected: String
        var testDescription: String { expected }
    }

    static let breakages: [Breakage] = [
        Breakage(file: "leaf-payments.yaml", from: "claimName: canopy-leaf-payments-data", to: "claimName: gone", expected: "PersistentVolumeClaim gone"),
        Breakage(file: "hub.yaml", from: "key: database-url", to: "key: database-uri", expected: "no key database-uri"),
        Breakage(file: "hub.yaml", from: "secretName: canopy-hub", to: "secretName: other", expected: "Secret other"),
        Breakage(file: "hub.yaml", from: "- key: api-token", to: "- key: api-tokn", expected: "no key api-tokn"),
        Breakage(file: "leaf-search.yaml", from: "configMap:\n            name: canopy-leaf-search", to: "configMap:\n            name: canopy-leaf-serch", expected: "ConfigMap canopy-leaf-serch"),
        Breakage(file: "leaf-search.yaml", from: "- name: tmp\n              mountPath", to: "- name: temp\n              mountPath", expected: "volume temp"),
        Breakage(file: "hub.yaml", from: "  selector:\n    app.kubernetes.io/name: canopy-hub", to: "  selector:\n    app.kubernetes.io/name: hub", expected: "selects no Deployment"),
        Breakage(file: "hub.yaml", from: "    matchLabels:\n      app.kubernetes.io/name: canopy-hub", to: "    matchLabels:\n      app.kubernetes.io/name: hub", expected: "does not match its pod labels"),
        Breakage(file: "leaf-payments.yaml", from: "      targetPort: http", to: "      targetPort: metrics", expected: "targetPort metrics"),
        Breakage(file: "leaf-payments.yaml", from: "containerPort: 7878", to: "containerPort: 7800", expected: "listens on 7878"),
        Breakage(file: "hub.yaml", from: "path: /-/ready", to: "path: /-/readyz", expected: "/-/readyz"),
        Breakage(file: "leaf-search.yaml", from: "path: /-/healthy", to: "path: /-/ready", expected: "livenessProbe"),
        Breakage(file: "hub.yaml", from: "- /etc/canopy/hub.yml", to: "- /etc/canopy/hub.yaml", expected: "/etc/canopy/hub.yaml is not a key"),
        Breakage(file: "leaf-search.yaml", from: "- /var/lib/canopy-leaf", to: "- /var/lib/leaf", expected: "--data-dir /var/lib/leaf"),
        Breakage(file: "hub.yaml", from: "targets: [canopy-leaf-search.canopy.svc.cluster.local:7878]", to: "targets: [canopy-leaf-serch.canopy.svc.cluster.local:7878]", expected: "canopy-leaf-serch"),
        Breakage(file: "hub.yaml", from: "targets: [canopy-leaf-search.canopy.svc.cluster.local:7878]", to: "targets: [canopy-leaf-search.canopy.svc.cluster.local:7879]", expected: "no port 7879"),
        Breakage(file: "hub.yaml", from: "- name: search\n", to: "- name: serch\n", expected: "team search"),
        Breakage(file: "leaf-search.yaml", from: "  namespace: canopy\n", to: "  namespace: search\n", expected: "namespace search"),
        Breakage(file: "kustomization.yaml", from: "  - leaf-search.yaml\n", to: "", expected: "kustomization.yaml does not list leaf-search.yaml"),
        Breakage(file: "hub.yaml", from: "            - name: CANOPY_DATABASE_URL", to: "            - name: DATABASE_URL", expected: "CANOPY_DATABASE_URL"),
    ]

    @Test(arguments: breakages) func kubernetesCheckCatches(_ breakage: Breakage) throws {
        let check = try KubernetesCheck.load { file, text in
            guard file.hasSuffix("/" + breakage.file) else { return text }
            #expect(text.contains(breakage.from), "\(breakage.file) no longer contains \(breakage.from)")
            return text.replacingOccurrences(of: breakage.from, with: breakage.to)
        }
        let problems = check.problems()
        #expect(problems.contains { $0.contains(breakage.expected) }, "\(problems)")
    }

    @Test func embeddedConfigsPassTheBinariesCheckConfigAsThePodsSeeThem() throws {
        let check = try KubernetesCheck.load()
        let results = try check.checkEmbeddedConfigs()
        #expect(results.count == 3)
        for result in results {
            #expect(result.status == 0, "\(result.deployment): \(result.output)")
            #expect(result.output.contains(": OK ("), "\(result.deployment): \(result.output)")
        }
        // PostgreSQL is external: the hub gets its URL from the Secret, not a private cluster.
        let hub = try #require(results.first { $0.binary == "canopy-hub" })
        #expect(hub.output.contains("database: external"), "\(hub.output)")
    }

    @Test func embeddedConfigCheckCatchesABrokenConfig() throws {
        let check = try KubernetesCheck.load { file, text in
            file.hasSuffix("/leaf-search.yaml") ? text.replacingOccurrences(of: "refresh_interval: 30s", with: "refresh_interval: 30x") : text
        }
        let results = try check.checkEmbeddedConfigs()
        let broken = try #require(results.first { $0.deployment == "canopy-leaf-search" })
        #expect(broken.status == 1)
        #expect(broken.output.contains("not a duration: \"30x\""), "\(broken.output)")
        // The placeholder URL of the example Secret must be one the hub accepts, or the check
        // above would not be testing the external database.
        let secretBroken = try KubernetesCheck.load { file, text in
            file.hasSuffix("/hub-secret.example.yaml") ? text.replacingOccurrences(of: "\"postgres://", with: "\"mysql://") : text
        }
        let hub = try #require(try secretBroken.checkEmbeddedConfigs().first { $0.binary == "canopy-hub" })
        #expect(hub.status == 1, "\(hub.output)")
    }

    // MARK: - systemd

    @Test(arguments: ["canopy-leaf", "canopy-hub"]) func systemdUnitStartsTheBinary(_ binary: String) throws {
        let file = "deploy/systemd/\(binary).service"
        let problems = SystemdCheck.problems(try DeployTree.read(file), binary: binary, defaultPort: try DefaultPorts.port(of: binary))
        #expect(problems == [], "\(file)")
    }

    @Test(arguments: [
        ("[Install]\nWantedBy=multi-user.target\n", "", "no [Install]"),
        ("Description=Canopy leaf", "Summary=Canopy leaf", "Description"),
        ("ExecStart=/usr/local/bin/canopy-leaf", "ExecStart=/usr/local/bin/canopy-hub", "ExecStart"),
        (" --config /etc/canopy/leaf.yml", "", "--config"),
        ("--data-dir /var/lib/canopy-leaf", "--data-dir /srv/leaf", "StateDirectory"),
        ("ExecReload=/bin/kill -HUP $MAINPID", "ExecReload=/bin/true", "ExecReload"),
        ("Restart=on-failure", "Restart=no", "Restart"),
        ("User=canopy-leaf", "User=root", "User"),
        ("ProtectSystem=strict", "ProtectSystem=full", "ProtectSystem"),
        ("ReadWritePaths=/var/lib/canopy-leaf", "ReadWritePaths=/var/lib/other", "ReadWritePaths"),
        ("After=network-online.target", "After=network.target", "network-online.target"),
        ("--listen 0.0.0.0:7878", "--listen 0.0.0.0:7000", "port"),
    ])
    func systemdCheckCatches(_ from: String, _ to: String, _ expected: String) throws {
        let text = try DeployTree.read("deploy/systemd/canopy-leaf.service")
        #expect(text.contains(from))
        let problems = SystemdCheck.problems(text.replacingOccurrences(of: from, with: to), binary: "canopy-leaf", defaultPort: 7878)
        #expect(problems.contains { $0.contains(expected) }, "\(problems)")
    }

    // MARK: - Docker

    @Test(arguments: ["canopy-leaf", "canopy-hub"]) func dockerfileBuildsThenCopiesIntoASlimImage(_ binary: String) throws {
        let name = binary.replacingOccurrences(of: "canopy-", with: "")
        let file = "deploy/docker/Dockerfile.\(name)"
        let problems = DockerfileCheck.problems(try DeployTree.read(file), binary: binary, defaultPort: try DefaultPorts.port(of: binary))
        #expect(problems == [], "\(file)")
    }

    @Test func dockerignoreKeepsTheBuildDirectoriesOut() throws {
        let lines = try DeployTree.read(".dockerignore").split(separator: "\n").map { $0.trimmingCharacters(in: .whitespaces) }
        #expect(lines.contains(".build*") || lines.contains(".build"))
    }

    @Test(arguments: [
        ("FROM swift:6.3-bookworm AS build", "FROM swift:6.3-bookworm", "build stage"),
        ("FROM debian:bookworm-slim AS runtime", "FROM swift:6.3-bookworm AS runtime", "debian:bookworm-slim"),
        ("--static-swift-stdlib", "", "--static-swift-stdlib"),
        ("--product canopy-hub", "--product canopy-leaf", "--product canopy-hub"),
        ("COPY --from=build /out/canopy-hub /usr/local/bin/canopy-hub", "COPY out/canopy-hub /usr/local/bin/canopy-hub", "COPY --from=build"),
        ("EXPOSE 7979", "EXPOSE 7878", "EXPOSE"),
        ("USER 10001:10001", "USER root", "USER"),
        ("VOLUME [\"/var/lib/canopy-hub\"]", "VOLUME [\"/data\"]", "VOLUME"),
        ("ENTRYPOINT [\"/usr/local/bin/canopy-hub\"]", "ENTRYPOINT [\"/usr/bin/canopy-hub\"]", "ENTRYPOINT"),
        ("\"--listen\", \"0.0.0.0:7979\"", "\"--listen\", \"0.0.0.0:7000\"", "CMD"),
        ("tzdata postgresql", "tzdata", "postgresql"),
    ])
    func dockerfileCheckCatches(_ from: String, _ to: String, _ expected: String) throws {
        let text = try DeployTree.read("deploy/docker/Dockerfile.hub")
        #expect(text.contains(from))
        let problems = DockerfileCheck.problems(text.replacingOccurrences(of: from, with: to), binary: "canopy-hub", defaultPort: 7979)
        #expect(problems.contains { $0.contains(expected) }, "\(problems)")
    }
}

// MARK: - Files

enum DeployTree {
    static var root: URL { ServerProcess.packageRoot }

    /// Paths relative to the package root, sorted.
    static func files(under directory: String, extensions: Set<String>) -> [String] {
        let base = root.appendingPathComponent(directory)
        guard let enumerator = FileManager.default.enumerator(at: base, includingPropertiesForKeys: nil) else { return [] }
        var files: [String] = []
        for case let url as URL in enumerator where extensions.contains(url.pathExtension) {
            files.append(directory + "/" + url.path.dropFirst(base.path.count + 1))
        }
        return files.sorted()
    }

    static func read(_ path: String) throws -> String {
        try String(contentsOf: root.appendingPathComponent(path), encoding: .utf8)
    }
}

enum DeployYAML {
    /// Every document of a (multi-document) YAML text; the error names the file.
    static func documents(_ text: String, file: String) throws -> [Node] {
        do {
            var sequence = try Yams.compose_all(yaml: text)
            var documents: [Node] = []
            while let document = sequence.next() { documents.append(document) }
            if let error = sequence.error { throw TestFailure("\(file): invalid YAML: \(error)") }
            return documents
        } catch let failure as TestFailure {
            throw failure
        } catch {
            throw TestFailure("\(file): invalid YAML: \(error)")
        }
    }
}

extension Node {
    var list: [Node] { sequence.map { Array($0) } ?? [] }
    var entries: [(key: String, value: Node)] { mapping?.compactMap { pair in pair.key.string.map { ($0, pair.value) } } ?? [] }
    var strings: [String: String] { Dictionary(entries.compactMap { entry in entry.value.string.map { (entry.key, $0) } }, uniquingKeysWith: { a, _ in a }) }
    func at(_ keys: String...) -> Node? {
        var node: Node? = self
        for key in keys { node = node?[key] }
        return node
    }
}

/// The port each binary listens on by default, as its `serve --help` says.
enum DefaultPorts {
    static func port(of binary: String) throws -> Int {
        let (status, help) = try ServerProcess.run(binary, ["serve", "--help"])
        guard status == 0 else { throw TestFailure("\(binary) serve --help: \(help)") }
        let flat = help.split(whereSeparator: \.isWhitespace).joined(separator: " ")
        guard let range = flat.range(of: #"--listen <listen> [^(\[]*\(default: [^)]*:(\d+)\)"#, options: .regularExpression),
            let port = flat[range].dropLast().split(separator: ":").last.flatMap({ Int($0) })
        else { throw TestFailure("no default --listen in \(binary) serve --help: \(help)") }
        return port
    }
}

/// The server's command line: `--flag value` pairs.
func flagValue(_ flag: String, in arguments: [String]) -> String? {
    guard let index = arguments.firstIndex(of: flag), index + 1 < arguments.count else { return nil }
    return arguments[index + 1]
}

func port(ofListen address: String) -> Int? { address.split(separator: ":").last.flatMap { Int($0) } }

// MARK: - Kubernetes

struct KubernetesCheck {
    static let directory = "deploy/kubernetes"

    struct Resource {
        let file: String
        let node: Node
        var kind: String { node["kind"]?.string ?? "" }
        var name: String { node.at("metadata", "name")?.string ?? "" }
        var namespace: String? { node.at("metadata", "namespace")?.string }
        var description: String { "\(file): \(kind) \(name)" }
    }

    struct Container {
        let deployment: Resource
        let node: Node
        var command: [String] { (node["command"]?.list ?? []).compactMap(\.string) + (node["args"]?.list ?? []).compactMap(\.string) }
        /// `canopy-leaf` or `canopy-hub`, from the command's first word.
        var binary: String? { command.first.map { ($0 as NSString).lastPathComponent } }
        var ports: [(name: String?, port: Int)] {
            (node["ports"]?.list ?? []).compactMap { port in port["containerPort"]?.int.map { (port["name"]?.string, $0) } }
        }
        func hasPort(_ reference: Node?) -> Bool {
            guard let reference else { return false }
            if let number = reference.int { return ports.contains { $0.port == number } }
            return ports.contains { $0.name != nil && $0.name == reference.string }
        }
        var mounts: [(name: String, path: String, readOnly: Bool)] {
            (node["volumeMounts"]?.list ?? []).compactMap { mount in
                guard let name = mount["name"]?.string, let path = mount["mountPath"]?.string else { return nil }
                return (name, path, mount["readOnly"]?.bool ?? false)
            }
        }
        var env: [String: Node] { Dictionary((node["env"]?.list ?? []).compactMap { e in e["name"]?.string.map { ($0, e) } }, uniquingKeysWith: { a, _ in a }) }
    }

    var resources: [Resource]
    let kustomization: Node?
    let yamlFiles: [String]
    let servedPaths: Set<String>
    let defaultPorts: [String: Int]

    var deployments: [Resource] { resources.filter { $0.kind == "Deployment" } }
    var containers: [Container] { deployments.flatMap { d in (d.node.at("spec", "template", "spec", "containers")?.list ?? []).map { Container(deployment: d, node: $0) } } }

    func resource(_ kind: String, _ name: String, namespace: String?) -> Resource? {
        resources.first { $0.kind == kind && $0.name == name && $0.namespace == namespace }
    }

    func volumes(of deployment: Resource) -> [String: Node] {
        Dictionary((deployment.node.at("spec", "template", "spec", "volumes")?.list ?? []).compactMap { v in v["name"]?.string.map { ($0, v) } }, uniquingKeysWith: { a, _ in a })
    }

    /// The keys a ConfigMap or Secret holds, with their text.
    func contents(of resource: Resource) -> [String: String] {
        var result = resource.node["data"]?.strings ?? [:]
        if resource.kind == "Secret" {
            result = result.compactMapValues { Data(base64Encoded: $0).flatMap { String(data: $0, encoding: .utf8) } }
            result.merge(resource.node["stringData"]?.strings ?? [:]) { _, new in new }
        }
        return result
    }

    /// Loads `deploy/kubernetes`, each file's text passed through `edit` first (for the tests
    /// that break a file on purpose).
    static func load(edit: (String, String) -> String = { $1 }) throws -> KubernetesCheck {
        let files = DeployTree.files(under: directory, extensions: ["yaml", "yml"])
        var resources: [Resource] = []
        var kustomization: Node?
        for file in files {
            let text = edit(file, try DeployTree.read(file))
            for document in try DeployYAML.documents(text, file: file) {
                if file.hasSuffix("/kustomization.yaml") { kustomization = document } else { resources.append(Resource(file: file, node: document)) }
            }
        }
        // The paths the servers serve for probes, from the routes both of them install.
        let routes = try DeployTree.read("Sources/Shared/HTTP/OperationsRoutes.swift")
        let regex = try NSRegularExpression(pattern: #"router\.get\("([^"]+)"\)"#)
        let served = regex.matches(in: routes, range: NSRange(routes.startIndex..., in: routes)).compactMap { match in
            Range(match.range(at: 1), in: routes).map { "/" + routes[$0] }
        }
        return KubernetesCheck(
            resources: resources, kustomization: kustomization, yamlFiles: files, servedPaths: Set(served),
            defaultPorts: ["canopy-leaf": try DefaultPorts.port(of: "canopy-leaf"), "canopy-hub": try DefaultPorts.port(of: "canopy-hub")])
    }

    func problems() -> [String] {
        var problems: [String] = []
        let namespaces = resources.filter { $0.kind == "Namespace" }.map(\.name)
        if namespaces.count != 1 { problems.append("expected one Namespace, found \(namespaces)") }

        // Identity, namespace, and what kubectl apply -k applies.
        var seen: Set<String> = []
        for resource in resources {
            if resource.node["apiVersion"]?.string == nil || resource.kind.isEmpty || resource.name.isEmpty {
                problems.append("\(resource.file): a document without apiVersion, kind or metadata.name")
            }
            if !seen.insert("\(resource.kind)/\(resource.namespace ?? "")/\(resource.name)").inserted {
                problems.append("\(resource.description) is defined twice")
            }
            if resource.kind != "Namespace" && (resource.namespace == nil || !namespaces.contains(resource.namespace!)) {
                problems.append("\(resource.description) is in namespace \(resource.namespace ?? "(none)"), not in \(namespaces)")
            }
        }
        let listed = Set((kustomization?["resources"]?.list ?? []).compactMap(\.string))
        for file in yamlFiles where !file.hasSuffix("/kustomization.yaml") {
            let name = (file as NSString).lastPathComponent
            if name.contains(".example.") {
                if listed.contains(name) { problems.append("kustomization.yaml applies the example \(name)") }
            } else if !listed.contains(name) {
                problems.append("kustomization.yaml does not list \(name)")
            }
        }
        for name in listed where !yamlFiles.contains("\(Self.directory)/\(name)") {
            problems.append("kustomization.yaml lists \(name), which does not exist")
        }

        for deployment in deployments { problems += self.problems(of: deployment) }
        for container in containers { problems += self.problems(of: container) }
        for service in resources where service.kind == "Service" { problems += self.problems(ofService: service) }
        problems += hubLeafProblems()
        return problems
    }

    func problems(of deployment: Resource) -> [String] {
        var problems: [String] = []
        let spec = deployment.node["spec"]
        let matchLabels = spec?.at("selector", "matchLabels")?.strings ?? [:]
        let podLabels = spec?.at("template", "metadata", "labels")?.strings ?? [:]
        if matchLabels.isEmpty || !matchLabels.allSatisfy({ podLabels[$0.key] == $0.value }) {
            problems.append("\(deployment.description): selector \(matchLabels) does not match its pod labels \(podLabels)")
        }
        if spec?["replicas"]?.int != 1 { problems.append("\(deployment.description): replicas must be 1") }
        for (name, volume) in volumes(of: deployment) {
            if let configMap = volume["configMap"] {
                let target = configMap["name"]?.string ?? ""
                if let map = resource("ConfigMap", target, namespace: deployment.namespace) {
                    let keys = contents(of: map)
                    for item in configMap["items"]?.list ?? [] where keys[item["key"]?.string ?? ""] == nil {
                        problems.append("\(deployment.description): volume \(name): ConfigMap \(target) has no key \(item["key"]?.string ?? "")")
                    }
                } else {
                    problems.append("\(deployment.description): volume \(name): no ConfigMap \(target) in \(KubernetesCheck.directory)")
                }
            }
            if let secret = volume["secret"] {
                let target = secret["secretName"]?.string ?? ""
                if let found = resource("Secret", target, namespace: deployment.namespace) {
                    let keys = contents(of: found)
                    for item in secret["items"]?.list ?? [] where keys[item["key"]?.string ?? ""] == nil {
                        problems.append("\(deployment.description): volume \(name): Secret \(target) has no key \(item["key"]?.string ?? "")")
                    }
                } else {
                    problems.append("\(deployment.description): volume \(name): no Secret \(target) in \(KubernetesCheck.directory)")
                }
            }
            if let claim = volume.at("persistentVolumeClaim", "claimName")?.string, resource("PersistentVolumeClaim", claim, namespace: deployment.namespace) == nil {
                problems.append("\(deployment.description): volume \(name): no PersistentVolumeClaim \(claim) in \(KubernetesCheck.directory)")
            }
            if !["configMap", "secret", "persistentVolumeClaim", "emptyDir"].contains(where: { volume[$0] != nil }) {
                problems.append("\(deployment.description): volume \(name) is neither a ConfigMap, a Secret, a PersistentVolumeClaim nor an emptyDir")
            }
        }
        return problems
    }

    func problems(of container: Container) -> [String] {
        var problems: [String] = []
        let deployment = container.deployment
        let where_ = "\(deployment.description): container \(container.node["name"]?.string ?? "?")"
        let volumes = volumes(of: deployment)
        for mount in container.mounts where volumes[mount.name] == nil {
            problems.append("\(where_): mounts volume \(mount.name), which the Deployment does not have")
        }
        for (name, variable) in container.env {
            if let ref = variable.at("valueFrom", "secretKeyRef") {
                let target = ref["name"]?.string ?? "", key = ref["key"]?.string ?? ""
                if let secret = resource("Secret", target, namespace: deployment.namespace) {
                    if contents(of: secret)[key] == nil { problems.append("\(where_): env \(name): Secret \(target) has no key \(key)") }
                } else {
                    problems.append("\(where_): env \(name): no Secret \(target) in \(KubernetesCheck.directory)")
                }
            }
            if let ref = variable.at("valueFrom", "configMapKeyRef") {
                let target = ref["name"]?.string ?? "", key = ref["key"]?.string ?? ""
                if let map = resource("ConfigMap", target, namespace: deployment.namespace) {
                    if contents(of: map)[key] == nil { problems.append("\(where_): env \(name): ConfigMap \(target) has no key \(key)") }
                } else {
                    problems.append("\(where_): env \(name): no ConfigMap \(target) in \(KubernetesCheck.directory)")
                }
            }
        }
        for source in container.node["envFrom"]?.list ?? [] {
            if let name = source.at("configMapRef", "name")?.string, resource("ConfigMap", name, namespace: deployment.namespace) == nil {
                problems.append("\(where_): envFrom: no ConfigMap \(name)")
            }
            if let name = source.at("secretRef", "name")?.string, resource("Secret", name, namespace: deployment.namespace) == nil {
                problems.append("\(where_): envFrom: no Secret \(name)")
            }
        }
        // Probes: on a container port, at a path the servers serve; ready and healthy.
        for (probe, path) in [("startupProbe", nil), ("readinessProbe", "/-/ready"), ("livenessProbe", "/-/healthy")] {
            guard let get = container.node.at(probe, "httpGet") else {
                if path != nil { problems.append("\(where_): no \(probe) with httpGet") }
                continue
            }
            let actual = get["path"]?.string ?? ""
            if !servedPaths.contains(actual) { problems.append("\(where_): \(probe) asks \(actual), which the servers do not serve (\(servedPaths.sorted()))") }
            if let path, actual != path { problems.append("\(where_): \(probe) must ask \(path), not \(actual)") }
            if !container.hasPort(get["port"]) { problems.append("\(where_): \(probe) port \(get["port"]?.string ?? "?") is not a container port") }
        }
        // The command line: the binary, its config in a mounted ConfigMap, its data dir on a
        // writable volume, its port.
        guard let binary = container.binary, let defaultPort = defaultPorts[binary] else {
            problems.append("\(where_): command \(container.command) does not start canopy-leaf or canopy-hub")
            return problems
        }
        let command = container.command
        let listen = flagValue("--listen", in: command).flatMap(port(ofListen:)) ?? defaultPort
        if !container.ports.contains(where: { $0.port == listen }) {
            problems.append("\(where_): \(binary) listens on \(listen), but the container ports are \(container.ports.map(\.port))")
        }
        if let config = flagValue("--config", in: command) {
            if configMapFile(config, container: container) == nil {
                problems.append("\(where_): --config \(config) is not a key of a ConfigMap mounted there")
            }
        } else {
            problems.append("\(where_): \(binary) runs without --config")
        }
        if let dataDir = flagValue("--data-dir", in: command) {
            if !container.mounts.contains(where: { $0.path == dataDir && !$0.readOnly }) {
                problems.append("\(where_): --data-dir \(dataDir) is not a writable volume mount")
            }
        } else {
            problems.append("\(where_): \(binary) runs without --data-dir")
        }
        // PostgreSQL is external: the hub's URL comes from a Secret.
        if binary == "canopy-hub" && container.env["CANOPY_DATABASE_URL"]?.at("valueFrom", "secretKeyRef") == nil {
            problems.append("\(where_): the hub does not take CANOPY_DATABASE_URL from a Secret")
        }
        return problems
    }

    /// The text of the ConfigMap key that `path` names inside `container`, through its mounts.
    func configMapFile(_ path: String, container: Container) -> String? {
        let volumes = volumes(of: container.deployment)
        for mount in container.mounts where path.hasPrefix(mount.path + "/") {
            guard let name = volumes[mount.name]?.at("configMap", "name")?.string,
                let map = resource("ConfigMap", name, namespace: container.deployment.namespace)
            else { continue }
            return contents(of: map)[String(path.dropFirst(mount.path.count + 1))]
        }
        return nil
    }

    func problems(ofService service: Resource) -> [String] {
        let selector = service.node.at("spec", "selector")?.strings ?? [:]
        let selected = deployments.filter { deployment in
            let labels = deployment.node.at("spec", "template", "metadata", "labels")?.strings ?? [:]
            return deployment.namespace == service.namespace && !selector.isEmpty && selector.allSatisfy { labels[$0.key] == $0.value }
        }
        guard selected.count == 1, let deployment = selected.first else {
            return ["\(service.description): selector \(selector) selects no Deployment, or more than one (\(selected.map(\.name)))"]
        }
        let podContainers = containers.filter { $0.deployment.name == deployment.name }
        var problems: [String] = []
        for port in service.node.at("spec", "ports")?.list ?? [] {
            let target = port["targetPort"] ?? port["port"]
            if !podContainers.contains(where: { $0.hasPort(target) }) {
                problems.append("\(service.description): targetPort \(target?.string ?? "?") is no container port of Deployment \(deployment.name)")
            }
        }
        return problems
    }

    /// Leaf Deployments by name, with the team of their config.
    func leafTeams() -> [String: String] {
        var teams: [String: String] = [:]
        for container in containers where container.binary == "canopy-leaf" {
            guard let path = flagValue("--config", in: container.command), let text = configMapFile(path, container: container),
                let team = (try? Yams.compose(yaml: text))?.at("global", "external_labels", "team")?.string
            else { continue }
            teams[container.deployment.name] = team
        }
        return teams
    }

    /// The hub's config lists every leaf by its Service's DNS name and port, under its team's name.
    func hubLeafProblems() -> [String] {
        guard let hub = containers.first(where: { $0.binary == "canopy-hub" }),
            let path = flagValue("--config", in: hub.command), let text = configMapFile(path, container: hub),
            let config = try? Yams.compose(yaml: text)
        else { return ["no hub Deployment with its config in a ConfigMap"] }
        var problems: [String] = []
        let teams = leafTeams()
        var reached: Set<String> = []
        for job in config["leaves"]?.list ?? [] {
            let name = job["name"]?.string ?? ""
            let targets = (job["static_configs"]?.list ?? []).flatMap { ($0["targets"]?.list ?? []).compactMap(\.string) }
            if targets.isEmpty { problems.append("hub leaf job \(name): no static targets") }
            for target in targets {
                let parts = target.split(separator: ":")
                let host = parts.first.map(String.init) ?? "", port = parts.count == 2 ? Int(parts[1]) : nil
                let labels = host.split(separator: ".").map(String.init)
                let suffixes = [[], ["svc"], ["svc", "cluster", "local"]]
                guard labels.count >= 1, labels.count <= 5, suffixes.contains(Array(labels.dropFirst(min(2, labels.count)))),
                    let service = resource("Service", labels[0], namespace: labels.count > 1 ? labels[1] : hub.deployment.namespace)
                else {
                    problems.append("hub leaf job \(name): \(target) is not the DNS name of a Service in \(KubernetesCheck.directory)")
                    continue
                }
                if !(service.node.at("spec", "ports")?.list ?? []).contains(where: { $0["port"]?.int == port }) {
                    problems.append("hub leaf job \(name): Service \(service.name) has no port \(port.map(String.init) ?? "?")")
                }
                let selector = service.node.at("spec", "selector")?.strings ?? [:]
                guard let leaf = deployments.first(where: { d in
                    let labels = d.node.at("spec", "template", "metadata", "labels")?.strings ?? [:]
                    return !selector.isEmpty && selector.allSatisfy { labels[$0.key] == $0.value }
                }), let team = teams[leaf.name] else {
                    problems.append("hub leaf job \(name): Service \(service.name) does not select a leaf")
                    continue
                }
                reached.insert(leaf.name)
                if team != name { problems.append("hub leaf job \(name) scrapes the leaf of team \(team)") }
            }
        }
        for (leaf, team) in teams where !reached.contains(leaf) {
            problems.append("the hub does not scrape \(leaf) (team \(team))")
        }
        return problems
    }

    struct ConfigCheck {
        let deployment: String
        let binary: String
        let status: Int32
        let output: String
    }

    /// Runs each container's `check-config` on its config as the pod sees it: every mounted
    /// ConfigMap and Secret is written to a temporary directory standing for its mount path, the
    /// config's paths are pointed there, and the container's environment comes from the Secrets.
    func checkEmbeddedConfigs() throws -> [ConfigCheck] {
        var results: [ConfigCheck] = []
        for container in containers {
            guard let binary = container.binary, let configPath = flagValue("--config", in: container.command) else { continue }
            let root = FileManager.default.temporaryDirectory.appendingPathComponent("canopy-deploy-\(UUID().uuidString)").path
            defer { try? FileManager.default.removeItem(atPath: root) }
            let volumes = volumes(of: container.deployment)
            for mount in container.mounts {
                let directory = root + mount.path
                try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
                guard let volume = volumes[mount.name] else { continue }
                var files: [String: String] = [:]
                if let name = volume.at("configMap", "name")?.string, let map = resource("ConfigMap", name, namespace: container.deployment.namespace) {
                    files = contents(of: map)
                } else if let name = volume.at("secret", "secretName")?.string, let secret = resource("Secret", name, namespace: container.deployment.namespace) {
                    let all = contents(of: secret)
                    let items = volume.at("secret", "items")?.list ?? []
                    files = items.isEmpty ? all : Dictionary(items.compactMap { item in
                        guard let key = item["key"]?.string, let path = item["path"]?.string, let value = all[key] else { return nil }
                        return (path, value)
                    }, uniquingKeysWith: { a, _ in a })
                }
                for (name, text) in files { try text.write(toFile: directory + "/" + name, atomically: true, encoding: .utf8) }
            }
            let config = root + configPath
            if var text = try? String(contentsOfFile: config, encoding: .utf8) {
                // Through placeholders, so that a replaced path is not replaced again (`/tmp`).
                let mounts = container.mounts.sorted { $0.path.count > $1.path.count }
                for (index, mount) in mounts.enumerated() { text = text.replacingOccurrences(of: mount.path + "/", with: "\u{1}\(index)\u{1}") }
                for (index, mount) in mounts.enumerated() { text = text.replacingOccurrences(of: "\u{1}\(index)\u{1}", with: root + mount.path + "/") }
                try text.write(toFile: config, atomically: true, encoding: .utf8)
            }
            var environment = ProcessInfo.processInfo.environment.filter { $0.key != "CANOPY_DATABASE_URL" }
            for (name, variable) in container.env {
                if let value = variable["value"]?.string { environment[name] = value }
                if let ref = variable.at("valueFrom", "secretKeyRef"), let secret = resource("Secret", ref["name"]?.string ?? "", namespace: container.deployment.namespace),
                    let value = contents(of: secret)[ref["key"]?.string ?? ""]
                {
                    environment[name] = value
                }
            }
            let (status, output) = try run(binary, ["check-config", config], environment: environment)
            results.append(ConfigCheck(deployment: container.deployment.name, binary: binary, status: status, output: output))
        }
        return results
    }

    func run(_ binary: String, _ arguments: [String], environment: [String: String]) throws -> (Int32, String) {
        try ServerProcess.run(binary, arguments, environment: environment, inheriting: false)
    }
}

// MARK: - systemd

enum SystemdCheck {
    /// `[Section]` → key → values (a key may repeat).
    static func parse(_ text: String) -> [String: [String: [String]]] {
        var sections: [String: [String: [String]]] = [:]
        var current: String?
        for raw in text.split(separator: "\n", omittingEmptySubsequences: false) {
            let line = raw.trimmingCharacters(in: .whitespaces)
            if line.isEmpty || line.hasPrefix("#") || line.hasPrefix(";") { continue }
            if line.hasPrefix("[") && line.hasSuffix("]") {
                current = String(line.dropFirst().dropLast())
                sections[current!, default: [:]] = sections[current!] ?? [:]
            } else if let current, let equals = line.firstIndex(of: "=") {
                let key = line[..<equals].trimmingCharacters(in: .whitespaces)
                sections[current, default: [:]][key, default: []].append(line[line.index(after: equals)...].trimmingCharacters(in: .whitespaces))
            }
        }
        return sections
    }

    static func problems(_ text: String, binary: String, defaultPort: Int) -> [String] {
        let sections = parse(text)
        var problems: [String] = []
        for name in ["Unit", "Service", "Install"] where sections[name] == nil { problems.append("no [\(name)] section") }
        let unit = sections["Unit"] ?? [:], service = sections["Service"] ?? [:], install = sections["Install"] ?? [:]
        func value(_ section: [String: [String]], _ key: String) -> String? { section[key]?.last }
        if value(unit, "Description") == nil { problems.append("[Unit] has no Description") }
        if !(unit["After"] ?? []).joined(separator: " ").split(separator: " ").contains("network-online.target") {
            problems.append("[Unit] is not After=network-online.target")
        }
        if !(install["WantedBy"] ?? []).contains("multi-user.target") { problems.append("[Install] is not WantedBy=multi-user.target") }

        let words = value(service, "ExecStart")?.split(separator: " ").map(String.init) ?? []
        if words.first.map({ $0.hasPrefix("/") && ($0 as NSString).lastPathComponent == binary }) != true {
            problems.append("ExecStart does not start \(binary) by its absolute path: \(words)")
        }
        if flagValue("--config", in: words)?.hasPrefix("/etc/canopy/") != true { problems.append("ExecStart has no --config /etc/canopy/...") }
        let state = value(service, "StateDirectory")
        let dataDir = flagValue("--data-dir", in: words)
        if state == nil || dataDir != "/var/lib/" + (state ?? "") {
            problems.append("ExecStart's --data-dir \(dataDir ?? "(none)") is not the StateDirectory \(state.map { "/var/lib/" + $0 } ?? "(none)")")
        }
        if let listen = flagValue("--listen", in: words), port(ofListen: listen) != defaultPort {
            problems.append("ExecStart's --listen \(listen) is not on the default port \(defaultPort)")
        }
        if value(service, "ExecReload") != "/bin/kill -HUP $MAINPID" { problems.append("ExecReload is not /bin/kill -HUP $MAINPID") }
        if value(service, "Restart") != "on-failure" { problems.append("Restart is not on-failure") }
        let user = value(service, "User")
        if user == nil || user == "root" || user == "0" { problems.append("User is not a dedicated user: \(user ?? "(none)")") }
        for (key, expected) in [("NoNewPrivileges", "yes"), ("ProtectSystem", "strict"), ("ProtectHome", "yes"), ("PrivateTmp", "yes")]
        where value(service, key) != expected {
            problems.append("\(key) is not \(expected)")
        }
        let writable = (service["ReadWritePaths"] ?? []).flatMap { $0.split(separator: " ").map(String.init) }
        if let dataDir, !writable.contains(dataDir) { problems.append("ReadWritePaths does not include \(dataDir)") }
        return problems
    }
}

// MARK: - Docker

enum DockerfileCheck {
    struct Stage {
        var base: String
        var name: String?
        var instructions: [(keyword: String, arguments: String)] = []
        func all(_ keyword: String) -> [String] { instructions.filter { $0.keyword == keyword }.map(\.arguments) }
    }

    /// Instructions by stage; continuation lines joined, comments dropped.
    static func stages(_ text: String) -> [Stage] {
        var logical: [String] = []
        var pending = ""
        for raw in text.split(separator: "\n", omittingEmptySubsequences: false) {
            let line = raw.trimmingCharacters(in: .whitespaces)
            if line.hasPrefix("#") { continue }
            if line.hasSuffix("\\") {
                pending += line.dropLast() + " "
            } else {
                pending += line
                if !pending.trimmingCharacters(in: .whitespaces).isEmpty { logical.append(pending) }
                pending = ""
            }
        }
        var stages: [Stage] = []
        for line in logical {
            let keyword = line.prefix { !$0.isWhitespace }.uppercased()
            let arguments = line.drop { !$0.isWhitespace }.trimmingCharacters(in: .whitespaces)
            if keyword == "FROM" {
                let words = arguments.split(separator: " ").map(String.init)
                let name = words.count == 3 && words[1].uppercased() == "AS" ? words[2] : nil
                stages.append(Stage(base: words.first ?? "", name: name))
            } else if !stages.isEmpty {
                stages[stages.count - 1].instructions.append((keyword, arguments))
            }
        }
        return stages
    }

    static func jsonArray(_ text: String?) -> [String]? {
        guard let text, let data = text.data(using: .utf8) else { return nil }
        return (try? JSONSerialization.jsonObject(with: data)) as? [String]
    }

    static func problems(_ text: String, binary: String, defaultPort: Int) -> [String] {
        let stages = stages(text)
        guard stages.count >= 2, let runtime = stages.last else { return ["expected at least two FROM stages (build, runtime), found \(stages.count)"] }
        var problems: [String] = []
        let builds = stages.dropLast().filter { stage in stage.all("RUN").contains { $0.contains("swift build") } }
        guard let build = builds.first, let buildName = build.name else {
            return ["no named build stage (FROM swift:6.3... AS build) running swift build"]
        }
        if !build.base.hasPrefix("swift:6.3") { problems.append("the build stage is \(build.base), not swift:6.3") }
        let swiftBuild = build.all("RUN").first { $0.contains("swift build") } ?? ""
        for flag in ["-c release", "--product \(binary)", "--static-swift-stdlib"] where !swiftBuild.contains(flag) {
            problems.append("swift build lacks \(flag)")
        }
        if runtime.base != "debian:bookworm-slim" { problems.append("the runtime stage is \(runtime.base), not debian:bookworm-slim") }
        let copies = runtime.all("COPY").map { $0.split(separator: " ").map(String.init) }
        guard let copy = copies.first(where: { $0.first == "--from=\(buildName)" && $0.dropFirst().dropLast().contains { $0.hasSuffix("/" + binary) } }),
            let installed = copy.last
        else {
            return problems + ["the runtime stage does not COPY --from=\(buildName) the \(binary) binary"]
        }
        let user = runtime.all("USER").last ?? "root"
        if ["root", "0", "0:0", "root:root"].contains(user) { problems.append("USER is root") }
        let exposed = runtime.all("EXPOSE").flatMap { $0.split(separator: " ").compactMap { Int($0.split(separator: "/")[0]) } }
        if exposed != [defaultPort] { problems.append("EXPOSE \(exposed) is not the default port \(defaultPort)") }
        let entrypoint = jsonArray(runtime.all("ENTRYPOINT").last)
        let installedPath = installed.hasSuffix("/") ? installed + binary : installed
        if entrypoint?.first != installedPath { problems.append("ENTRYPOINT \(entrypoint ?? []) does not run the copied \(installedPath)") }
        guard let command = jsonArray(runtime.all("CMD").last) else { return problems + ["no CMD in exec (JSON) form"] }
        if let listen = flagValue("--listen", in: command), port(ofListen: listen) != defaultPort {
            problems.append("CMD --listen \(listen) is not on the exposed port")
        }
        if flagValue("--config", in: command) == nil { problems.append("CMD has no --config") }
        let volumes = runtime.all("VOLUME").flatMap { jsonArray($0) ?? $0.split(separator: " ").map(String.init) }
        if let dataDir = flagValue("--data-dir", in: command), !volumes.contains(dataDir) {
            problems.append("CMD's --data-dir \(dataDir) is not a VOLUME (\(volumes))")
        } else if flagValue("--data-dir", in: command) == nil {
            problems.append("CMD has no --data-dir")
        }
        if binary == "canopy-hub" && !runtime.all("RUN").contains(where: { $0.contains("apt-get install") && $0.contains(" postgresql") }) {
            problems.append("the hub's runtime does not install postgresql for its private database")
        }
        return problems
    }
}
