"""One QA shared by threads: asks during ingests see the old or the new file, never a mix."""

import threading

from qa import QA

OLD = "The harbour crane lifts 40 tonnes.\n\nThe lighthouse keeper is named Ada.\n"
NEW = "The harbour crane lifts 90 tonnes.\n\nThe lighthouse keeper is named Ada.\n"


def test_asking_while_ingesting(tmp_path):
    docs = tmp_path / "docs"
    docs.mkdir()
    doc = docs / "port.txt"
    doc.write_text(OLD)
    errors: list[BaseException] = []
    answers = []
    with QA(tmp_path / "ix", backend="extractive") as qa:
        qa.ingest(docs)
        done = threading.Event()

        def writer():
            try:
                for i in range(12):
                    doc.write_text(NEW if i % 2 == 0 else OLD)
                    qa.ingest(docs)
            except BaseException as exc:  # noqa: BLE001 - reported by the test
                errors.append(exc)
            finally:
                done.set()

        def reader():
            try:
                while not done.is_set():
                    answers.append(qa.ask("How many tonnes does the harbour crane lift?"))
            except BaseException as exc:  # noqa: BLE001
                errors.append(exc)

        threads = [threading.Thread(target=writer)] + [
            threading.Thread(target=reader) for _ in range(2)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=300)
    assert not errors, errors
    assert len(answers) >= 3
    assert any(not a.refused for a in answers)  # some answers were read, not all refused
    for a in answers:
        # either a verified citation of one whole version, or a refusal because the file
        # on disk had already moved on: never a quote mixing the two
        for c in a.citations:
            assert c.quote in (OLD.splitlines()[0], NEW.splitlines()[0])
        assert a.refused or ("40 tonnes" in a.text) != ("90 tonnes" in a.text)
