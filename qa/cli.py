"""The command line: parse, call ``QA``, print. No logic of its own."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable

from .ask.verify import NOT_VERIFIED
from .errors import InputError, QAError


def _common(p: argparse.ArgumentParser) -> None:
    p.add_argument("--index", metavar="DIR", help="index directory (QA_INDEX_DIR, default .qa)")
    p.add_argument("--chroma-url", metavar="URL", help="use a Chroma server (QA_CHROMA_URL)")
    p.add_argument("--collection", metavar="NAME",
                   help="the named set of documents (QA_COLLECTION, default 'default')")


def _open(args: argparse.Namespace, **options: object):
    """A ``QA`` with only the flags the user gave: the environment decides the rest."""
    from .api import QA

    given = {"chroma_url": args.chroma_url, "collection": args.collection, **options}
    return QA(args.index, **{k: v for k, v in given.items() if v is not None})


def _progress_bar() -> Callable[[int, int, str], None] | None:
    if not sys.stderr.isatty():
        return None
    from tqdm import tqdm

    bar: dict = {}

    def update(done: int, total: int, source: str) -> None:
        if "bar" not in bar:
            bar["bar"] = tqdm(total=total, unit="file", desc="ingest", file=sys.stderr)
        b = bar["bar"]
        b.update(done - b.n)
        b.set_postfix_str(source[-40:], refresh=False)
        if done >= total:
            b.close()

    return update


def cmd_ingest(args: argparse.Namespace) -> int:
    with _open(args) as qa:
        report = qa.ingest(*args.paths, progress=_progress_bar())
    if args.json:
        print(json.dumps(report.to_dict(), indent=2))
        return 0
    print(report.summary())
    for path, reason in report.skipped:
        print(f"skipped {path}: {reason}")
    return 0


def cmd_ask(args: argparse.Namespace) -> int:
    with _open(args, read_only=True, backend=args.backend, top_k=args.k) as qa:
        answer = qa.ask(args.question)
    if args.json:
        print(json.dumps(answer.to_dict(), indent=2, ensure_ascii=False))
    else:
        from .render import format_answer

        print(format_answer(answer))
    if answer.debug.get("refused_because") == NOT_VERIFIED:
        reasons = "; ".join(sorted({d["reason"] for d in answer.debug["dropped"]}))
        print(f"error: every citation the {answer.debug['backend']} backend proposed failed "
              f"verification ({reasons}), so the answer was withheld", file=sys.stderr)
        return 2
    return 0


def cmd_eval(args: argparse.Namespace) -> int:
    from .evaluation.cli import main as eval_main

    return eval_main(args)


def cmd_stats(args: argparse.Namespace) -> int:
    with _open(args, read_only=True) as qa:
        print(json.dumps(qa.stats(), indent=2))
    return 0


def cmd_collections(args: argparse.Namespace) -> int:
    from .config import Settings
    from .index import collections

    s = Settings.from_env(index_dir=args.index, chroma_url=args.chroma_url)
    if args.action == "delete":
        from .conversations import Conversations

        for name in args.names:
            collections.known(s.index_dir, name)
            with _open(args, read_only=True, collection=name) as qa:
                info = qa.stats()
            uploads = collections.home(s.index_dir, name) / "uploads"
            stored = sum(p.is_file() for p in uploads.rglob("*")) if uploads.is_dir() else 0
            collections.delete(s.index_dir, name, chroma_url=s.chroma_url,
                               base=s.chroma_collection)
            talks = Conversations(s.index_dir).forget_collection(name)
            print(f"deleted collection {name!r}: {info['files']} files, {info['chunks']} chunks"
                  f" and their vectors, {stored} uploads, {talks} conversations"
                  " (the documents elsewhere are untouched)")
        return 0
    listed = []
    for name in collections.names(s.index_dir):
        with _open(args, read_only=True, collection=name) as qa:
            info = qa.stats()
        listed.append({"collection": name, "files": info["files"], "chunks": info["chunks"]})
    if args.json:
        print(json.dumps(listed, indent=2))
    for c in [] if args.json else listed:
        print(f"{c['collection']}: {c['files']} files, {c['chunks']} chunks")
    return 0


def cmd_conversations(args: argparse.Namespace) -> int:
    import time

    from .config import Settings
    from .conversations import Conversations

    saved = Conversations(Settings.from_env(index_dir=args.index).index_dir)
    if args.action == "export":
        if args.id is None:
            raise InputError("which conversation? qa conversations export ID (qa conversations"
                             " list shows them)")
        print(saved.export_markdown(args.id, args.user))
        return 0
    for c in saved.list(args.user):
        when = time.strftime("%Y-%m-%d %H:%M", time.localtime(c.updated))
        print(f"{c.id}\t{c.collection}\t{when}\t{c.title}")
    return 0


def _password(args: argparse.Namespace) -> str:
    """The new password: the first line of stdin with --password-stdin, else asked twice."""
    if args.password_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    if not sys.stdin.isatty():
        raise InputError("no terminal to ask the password on: pipe it with --password-stdin")
    import getpass

    password = getpass.getpass(f"password for {args.name}: ")
    if getpass.getpass("again: ") != password:
        raise InputError("the passwords differ")
    return password


def cmd_users(args: argparse.Namespace) -> int:
    from .accounts import Accounts
    from .config import Settings

    accounts = Accounts(Settings.from_env(index_dir=args.index).index_dir)
    if args.action == "list":
        users = accounts.users()
        if args.json:
            print(json.dumps([{"name": u.name, "read": sorted(u.read), "write": sorted(u.write),
                               "admin": u.admin} for u in users], indent=2))
        for u in [] if args.json else users:
            rights = ["admin"] if u.admin else [
                f"{verb} {', '.join(sorted(names)) or '-'}"
                for verb, names in (("read", u.read | u.write), ("write", u.write))]
            print(f"{u.name}: {'; '.join(rights)}")
        return 0
    if args.name is None:
        raise InputError(f"qa users {args.action} needs a user's NAME")
    if args.action == "add":
        accounts.add(args.name, _password(args), read=(args.read or "").split(","),
                     write=(args.write or "").split(","), admin=args.admin)
        print(f"added user {args.name!r}; qa users token {args.name} gives them an API token")
    elif args.action == "remove":
        accounts.remove(args.name)
        print(f"removed user {args.name!r} and their token")
    elif args.action == "passwd":
        accounts.passwd(args.name, _password(args))
        print(f"changed the password of {args.name!r}")
    elif args.revoke:
        done = accounts.revoke(args.name)
        print(f"revoked the token of {args.name!r}" if done else f"{args.name!r} had no token")
    else:
        print(accounts.issue_token(args.name))
        print(f"the API token of {args.name!r}, shown only now; it replaces any earlier one",
              file=sys.stderr)
    return 0


def cmd_serve(args: argparse.Namespace) -> int:
    from .ui.app import serve  # imports Gradio: only when serving

    serve(index_dir=args.index, chroma_url=args.chroma_url, collection=args.collection,
          host=args.host, port=args.port)
    return 0


def cmd_config(args: argparse.Namespace) -> int:
    from .config import Settings

    rows = Settings.describe(index_dir=args.index, chroma_url=args.chroma_url)
    if args.json:
        print(json.dumps(rows, indent=2))
        return 0
    width = max(len(r["variable"]) for r in rows)
    for r in rows:
        print(f"{r['variable']:<{width}}  {r['value']}  ({r['from']})")
    return 0


def cmd_api(args: argparse.Namespace) -> int:
    from .accounts import Accounts
    from .openai_server import serve

    with _open(args, read_only=True, backend=args.backend) as qa:  # replicas never write
        s = qa.settings
        host, port = args.host or s.host, args.port or s.api_port
        print(f"qa: OpenAI-compatible endpoint on http://{host}:{port}/v1 (a model per "
              f"collection; \"qa\" is {s.collection!r})"
              + ("; a user's token required (qa users)" if Accounts(s.index_dir).configured()
                 else "; bearer token required" if s.api_key else ""), file=sys.stderr)
        serve(qa, host=host, port=port, api_key=s.api_key.get_secret_value())
    return 0


def cmd_mcp(args: argparse.Namespace) -> int:
    try:
        from . import mcp_server
    except ImportError as exc:  # the mcp extra is not installed
        raise InputError(f"qa mcp needs the mcp package ({exc}): pip install 'qa[mcp]'") from None

    from .accounts import Accounts

    with _open(args, read_only=True, backend=args.backend) as qa:  # never writes
        collections = {name: qa.collection(name) for name in qa.collections()} or {
            mcp_server.DEFAULT: qa}
        s = qa.settings
        token, accounts = s.mcp_token.get_secret_value(), Accounts(s.index_dir)
        if not args.http:
            user = accounts.by_token(token) if accounts.configured() else None
            if accounts.configured() and user is None:
                raise InputError("this index has accounts: set QA_MCP_TOKEN to the token of the "
                                 "account qa mcp serves (qa users token NAME)")
            mcp_server.serve_stdio(collections, user=user)
            return 0
        host, port = args.host or s.host, args.port or s.mcp_port
        if not token and not accounts.configured():
            raise InputError("qa mcp --http needs a token that clients send as \"Authorization: "
                             "Bearer <token>\": set QA_MCP_TOKEN, or add accounts (qa users)")
        print(f"qa: MCP over streamable HTTP on http://{host}:{port}{mcp_server.PATH}; bearer "
              "token required (QA_MCP_TOKEN" + (" or a user's)" if accounts.configured() else ")"),
              file=sys.stderr)
        mcp_server.serve_http(collections, host=host, port=port, token=token)
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="qa", description="Answers from your documents, every citation checked."
    )
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("ingest", help="index files or folders: text, PDF, Word, HTML (incremental)")
    p.add_argument("paths", nargs="+", metavar="PATH")
    p.add_argument("--json", action="store_true", help="print the report as JSON")
    _common(p)
    p.set_defaults(func=cmd_ingest)

    p = sub.add_parser("ask", help="answer a question with verified file:line citations")
    p.add_argument("question")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.add_argument("--backend", choices=["auto", "openai", "local", "extractive"])
    p.add_argument("-k", type=int, help="passages to retrieve (QA_TOP_K)")
    _common(p)
    p.set_defaults(func=cmd_ask)

    p = sub.add_parser(
        "eval",
        help="measure retrieval, citations, answers and refusals on a QA dataset",
        description="Ingest CORPUS into a throw-away index, ask every question of DATASET "
        "(JSON Lines), print the metrics and write results.jsonl, summary.json, report.md and "
        "PNG plots. Exit 3 when a --fail-under/--fail-over bar is missed.",
    )
    p.add_argument("dataset", metavar="DATASET", help="questions, one JSON object a line")
    p.add_argument("--corpus", required=True, action="append", metavar="DIR",
                   help="folder the sources are in (repeat for a dataset over several)")
    p.add_argument("--backend", help="answer backend (QA_BACKEND): auto, openai, local, extractive")
    p.add_argument("-k", type=int, help="passages to retrieve (QA_TOP_K)")
    p.add_argument("--index", metavar="DIR", help="reuse/keep this index instead of a temp one")
    p.add_argument("--out", metavar="DIR", help="report folder (eval/reports/<name>-<time>)")
    p.add_argument("--compare", choices=["baseline"], help="also run a plain LlamaIndex pipeline")
    p.add_argument("--limit", type=int, metavar="N", help="only the first N questions")
    p.add_argument("--sample", type=int, metavar="N",
                   help="N questions drawn with a fixed seed, spread over the whole dataset")
    p.add_argument("--fail-under", action="append", metavar="METRIC=VALUE",
                   help="exit 3 when METRIC is below VALUE (repeatable)")
    p.add_argument("--fail-over", action="append", metavar="METRIC=VALUE",
                   help="exit 3 when METRIC is above VALUE, e.g. injection_success=0")
    p.add_argument("--json", action="store_true", help="print the summary as JSON")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=cmd_eval)

    p = sub.add_parser("stats", help="what is indexed")
    _common(p)
    p.set_defaults(func=cmd_stats)

    p = sub.add_parser("collections", help="list the collections, or delete some")
    p.add_argument("action", nargs="?", choices=["list", "delete"], default="list")
    p.add_argument("names", nargs="*", metavar="NAME", help="the collections to delete")
    p.add_argument("--json", action="store_true", help="print a JSON list")
    _common(p)
    p.set_defaults(func=cmd_collections)

    p = sub.add_parser("conversations", help="the conversations saved by the chat UI")
    p.add_argument("action", choices=["list", "export"], help="list them, or print one as"
                   " Markdown, each citation with its lines quoted")
    p.add_argument("id", nargs="?", type=int, metavar="ID", help="the conversation to export")
    p.add_argument("--user", help="whose (the UI's login name); without: those saved without"
                   " a login")
    p.add_argument("--index", metavar="DIR", help="index directory (QA_INDEX_DIR, default .qa)")
    p.set_defaults(func=cmd_conversations)

    p = sub.add_parser("users", help="accounts: who may read and write which collections",
                       description="Accounts of the index (docs/accounts.md). With none, every "
                       "server is open as before; with some, each needs a user's login or token.")
    p.add_argument("action", choices=["list", "add", "remove", "passwd", "token"])
    p.add_argument("name", nargs="?", metavar="NAME")
    p.add_argument("--read", metavar="C1,C2", help="add: collections NAME may read")
    p.add_argument("--write", metavar="C1,C2", help="add: collections NAME may add files to")
    p.add_argument("--admin", action="store_true", help="add: NAME may read and write all")
    p.add_argument("--password-stdin", action="store_true",
                   help="add, passwd: read the password from stdin instead of asking")
    p.add_argument("--revoke", action="store_true",
                   help="token: revoke NAME's token instead of issuing a new one")
    p.add_argument("--json", action="store_true", help="list: print a JSON list")
    p.add_argument("--index", metavar="DIR", help="index directory (QA_INDEX_DIR, default .qa)")
    p.set_defaults(func=cmd_users)

    p = sub.add_parser("serve", help="open the chat UI in the browser (Gradio)")
    p.add_argument("--host", help="address to bind (QA_HOST, default 127.0.0.1)")
    p.add_argument("--port", type=int, help="port (QA_PORT, default 7860)")
    _common(p)
    p.set_defaults(func=cmd_serve)

    p = sub.add_parser("config", help="the effective settings and where each comes from")
    p.add_argument("--json", action="store_true", help="print a JSON list")
    _common(p)
    p.set_defaults(func=cmd_config)

    p = sub.add_parser("api", help="serve the index as an OpenAI-compatible model (/v1)")
    p.add_argument("--host", help="address to bind (QA_HOST, default 127.0.0.1)")
    p.add_argument("--port", type=int, help="port (QA_API_PORT, default 8000)")
    p.add_argument("--backend", choices=["auto", "openai", "local", "extractive"])
    _common(p)
    p.set_defaults(func=cmd_api)

    p = sub.add_parser("mcp", help="serve the index to MCP clients: tools search and ask (stdio)")
    p.add_argument("--http", action="store_true",
                   help="streamable HTTP instead of stdio; needs QA_MCP_TOKEN")
    p.add_argument("--host", help="address to bind with --http (QA_HOST, default 127.0.0.1)")
    p.add_argument("--port", type=int, help="port with --http (QA_MCP_PORT, default 8765)")
    p.add_argument("--backend", choices=["auto", "openai", "local", "extractive"])
    _common(p)
    p.set_defaults(func=cmd_mcp)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except QAError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except BrokenPipeError:  # `qa ask ... | head`
        return 0
    except KeyboardInterrupt:
        print("interrupted: the index is consistent; run the same command again", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
