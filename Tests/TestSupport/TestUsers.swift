/// Basic-auth users for web configs in tests, hashed by `htpasswd -nbBC COST USER PASSWORD`
/// (apache2-utils): `$2y$` hashes as operators make them. Cost 4 keeps tests fast; carol's
/// cost 10 is what the README tells operators to use.
public enum TestUsers {
    public static let alice = (name: "alice", password: "secret", hash: "$2y$04$q/2gymeJtZgMWq/tRtfAhOWLiwwGix7eaLAGWTRg/UZh/uX/yJNdO")
    public static let bob = (name: "bob", password: "hunter2", hash: "$2y$04$awz71oA2crIsydzzX5Q.bO81X7OGysyUbvhRKz3hoVDGVDezTZeZO")
    public static let carol = (name: "carol", password: "s3cret", hash: "$2y$10$dxoNKl.K3.PGLkzrQVBSV.7VInkwmd7vurWU4yxv8/v0BOq2pjsvC")
}
