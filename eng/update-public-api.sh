#!/usr/bin/env bash
# Writes the public API changes the build reports into the projects' PublicAPI.Unshipped.txt: every symbol that is not
# declared (RS0016) is added, every declared symbol that is gone (RS0017) is removed, then the files are sorted. Review the
# diff before committing (is each line intended, documented and in CHANGELOG.md?). Usage: ./eng/update-public-api.sh
set -uo pipefail
cd "$(dirname "$0")/.."
log=$(mktemp)
trap 'rm -f "$log"' EXIT
dotnet build SafeSql.sln -c Release -nologo -v:q --no-incremental -p:TreatWarningsAsErrors=false 2>&1 | grep -E 'RS001[67]' > "$log"
python3 - "$log" <<'PY'
import re, sys, os, collections
added, removed = collections.defaultdict(set), collections.defaultdict(set)
for line in open(sys.argv[1], encoding="utf-8"):
    m = re.search(r"(RS001[67]): Symbol '(.*)' is (?:not part of the declared public API|part of the declared API, but is either not public or could not be found).*\[(.*?\.csproj)\]", line)
    if not m:
        continue
    folder = os.path.dirname(m.group(3))
    (added if m.group(1) == "RS0016" else removed)[folder].add(m.group(2))
for folder in set(added) | set(removed):
    path = os.path.join(folder, "PublicAPI.Unshipped.txt")
    lines = [l.rstrip("\n") for l in open(path, encoding="utf-8")] if os.path.exists(path) else ["#nullable enable"]
    header = [l for l in lines if l.startswith("#")]
    body = (set(l for l in lines if l and not l.startswith("#")) | added[folder]) - removed[folder]
    with open(path, "w", encoding="utf-8") as f:
        f.write("\n".join(header + sorted(body, key=str.casefold)) + "\n")
    print(f"{path}: +{len(added[folder])} -{len(removed[folder])}")
PY
