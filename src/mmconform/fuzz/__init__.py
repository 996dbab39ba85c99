"""Contract fuzzing of the file and licence operations with schemathesis.

`checks` holds the Mattermost checks (registered with `@schemathesis.check`, each naming the
requirement it enforces), `profiles` the sizes of a run (`conformance/profiles.yaml`), `inputs`
the world-aware generation hooks, `identity` the auth provider, `runner` the glue a conformance
module calls, and `stateful` the upload → info → get → link → post scenario machine.
"""
