"""Segmentation: the shipped enterprise-service terms stay whole, and the words inside them are
indexed too, so a search for either finds the text."""

from __future__ import annotations

import pytest

from cases.search import segment

SHIPPED_TERMS = [
    "用电增容",
    "留抵退税",
    "稳岗补贴",
    "银企对接",
    "产销对接",
    "用工对接",
    "企业减负",
    "专精特新",
    "无还本续贷",
    "排污许可",
    "施工许可",
    "政府采购目录",
]


def _dictionary_terms() -> list[str]:
    lines = segment.USER_DICTIONARY.read_text(encoding="utf-8").splitlines()
    return [line.split()[0] for line in lines if line.strip()]


def test_the_user_dictionary_holds_about_fifty_enterprise_service_terms():
    terms = _dictionary_terms()
    assert len(terms) >= 50
    assert set(SHIPPED_TERMS) <= set(terms)


@pytest.mark.parametrize("term", SHIPPED_TERMS)
def test_a_shipped_term_is_one_word_of_a_query_even_inside_a_sentence(term):
    assert term in segment.query_words(f"我公司反映{term}方面的困难")


@pytest.mark.parametrize("term", _dictionary_terms())
def test_every_dictionary_term_is_kept_whole_in_a_document(term):
    assert term.lower() in segment.document_words(f"关于{term}的问题")


def test_a_document_also_holds_the_shorter_words_inside_a_term():
    words = segment.document_words("企业用电增容申请迟迟未批复")
    assert {"用电增容", "用电", "增容", "申请", "批复"} <= set(words)
    assert {"稳岗补贴", "稳岗", "补贴"} <= set(segment.document_words("稳岗补贴申领困难"))


def test_query_words_drop_stopwords_unless_nothing_else_is_left():
    assert segment.query_words("企业反映用电增容的问题") == ["用电增容"]
    assert segment.query_words("企业") == ["企业"]
    assert segment.query_words("  ，。！ ") == []


def test_words_are_letter_and_digit_runs_in_lower_case_as_both_databases_index_them():
    assert segment.document_words("编号411502-2026-00017，ABC公司<script>") == [
        "编号",
        "411502",
        "2026",
        "00017",
        "abc",
        "公司",
        "script",
    ]


def test_the_tokenizer_is_built_once_per_process_with_its_cache_in_the_temporary_directory(tmp_path, monkeypatch):
    import tempfile

    first = segment.tokenizer()
    assert segment.tokenizer() is first
    assert first.tmp_dir == tempfile.gettempdir()


def test_an_unwritable_cache_directory_does_not_stop_segmentation(tmp_path, monkeypatch):
    # A directory below a plain file can be neither created nor written, even by root.
    blocker = tmp_path / "not-a-directory"
    blocker.write_text("x")
    monkeypatch.setenv("JIEBA_CACHE_DIR", str(blocker / "cache"))
    monkeypatch.setattr(segment, "_tokenizer", None)
    assert "用电增容" in segment.query_words("企业用电增容")
    assert segment.tokenizer().tmp_dir == str(blocker / "cache")


TEXTS = ["企业用电增容申请迟迟未批复", "稳岗补贴申领困难", "研发费用加计扣除政策咨询"]


def test_words_segmented_ahead_in_a_child_process_are_the_words_segmented_here():
    here = [segment.document_words(text) for text in TEXTS]
    segment._recent.cache_clear()
    segmenter = segment.AheadSegmenter(ahead=True)
    try:
        ticket = segmenter.submit([*TEXTS, "", TEXTS[0]])
        assert ticket is not None
        segmenter.use(ticket)
        assert ticket.texts == TEXTS  # once each, no empty text
        assert [segment.document_words(text) for text in TEXTS] == here
        assert segment._recent.cache_info().misses == 0  # answered from the child's words
        segmenter.done(ticket)
        assert not set(TEXTS) & set(segment._ahead)
    finally:
        segmenter.close()
    assert not segment._ahead


def test_when_no_child_process_can_be_started_the_texts_are_segmented_here(monkeypatch, caplog):
    def refuse(*args, **kwargs):
        raise OSError("no processes here")

    monkeypatch.setattr(segment.subprocess, "Popen", refuse)
    segmenter = segment.AheadSegmenter(ahead=True)
    ticket = segmenter.submit(TEXTS)
    assert ticket is None and "segmenting inline" in caplog.text
    segmenter.use(ticket)
    assert segment.document_words(TEXTS[1]) == ["稳岗", "补贴", "稳岗补贴", "申领", "困难"]
    segmenter.close()


def _segment_in_a_pool_worker(texts):
    """Run inside a Celery (billiard) prefork worker, a daemonic process."""
    import multiprocessing

    segmenter = segment.AheadSegmenter(ahead=True)
    try:
        ticket = segmenter.submit(texts)
        segmenter.use(ticket)
        return multiprocessing.current_process().daemon, ticket is not None, segment._ahead.get(texts[0])
    finally:
        segmenter.close()


def test_a_celery_prefork_worker_segments_ahead_too():
    """billiard's pool workers are daemonic: multiprocessing refuses them children; a plain
    subprocess is not refused."""
    import billiard

    with billiard.get_context("fork").Pool(1) as pool:
        daemonic, ahead, words = pool.apply(_segment_in_a_pool_worker, (TEXTS,))
    assert daemonic and ahead
    assert list(words) == segment.document_words(TEXTS[0])


def test_a_child_process_that_dies_leaves_the_texts_to_be_segmented_here(caplog):
    segmenter = segment.AheadSegmenter(ahead=True)
    try:
        first = segmenter.submit(TEXTS[:1])
        segmenter.use(first)  # the child is up
        segmenter.done(first)
        segmenter._child.kill()
        segmenter._child.wait()
        ticket = segmenter.submit(TEXTS[1:])
        segmenter.use(ticket)
        assert "segmenting inline" in caplog.text
        assert not set(TEXTS[1:]) & set(segment._ahead)
        assert segment.document_words(TEXTS[1]) == ["稳岗", "补贴", "稳岗补贴", "申领", "困难"]
    finally:
        segmenter.close()


def test_a_child_process_that_hangs_is_killed_and_the_texts_are_segmented_here(monkeypatch, caplog):
    import os
    import signal

    segmenter = segment.AheadSegmenter(ahead=True)
    try:
        first = segmenter.submit(TEXTS[:1])
        segmenter.use(first)  # the child is up (its start, a second or two, is not timed here)
        segmenter.done(first)
        monkeypatch.setattr(segment, "AHEAD_TIMEOUT_SECONDS", 1)
        child = segmenter._child
        os.kill(child.pid, signal.SIGSTOP)  # alive, answering nothing
        ticket = segmenter.submit(TEXTS[1:])
        segmenter.use(ticket)
        assert "segmenting inline" in caplog.text and "TimeoutError" in caplog.text
        assert segmenter._child is None and child.poll() is not None  # killed
        assert segmenter.submit(TEXTS) is None  # no second child for this writer
        assert segment.document_words(TEXTS[1]) == ["稳岗", "补贴", "稳岗补贴", "申领", "困难"]
    finally:
        segmenter.close()


def test_the_child_process_ends_when_its_parent_is_killed(tmp_path):
    """An import killed outright (OOM, a hard time limit, kill -9) leaves no child behind: the
    child reads the end of its input when the parent's end of the pipe closes."""
    import os
    import signal
    import subprocess
    import sys
    import time
    from pathlib import Path

    root = Path(segment.__file__).resolve().parents[2]
    parent = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys, time\n"
            "from cases.search import segment\n"
            "s = segment.AheadSegmenter(ahead=True)\n"
            "t = s.submit(['稳岗补贴申领困难'])\n"
            "s.use(t)\n"
            "print(s._child.pid, flush=True)\n"
            "time.sleep(60)\n",
        ],
        cwd=root,
        stdout=subprocess.PIPE,
        text=True,
    )
    child_pid = int(parent.stdout.readline())
    os.kill(parent.pid, signal.SIGKILL)
    parent.wait()
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            os.kill(child_pid, 0)
        except ProcessLookupError:
            break
        try:  # reaped by init once it exits; a zombie of ours would still answer
            with open(f"/proc/{child_pid}/status") as status:
                if "zombie" in status.read():
                    break
        except FileNotFoundError:
            break
        time.sleep(0.1)
    else:
        os.kill(child_pid, signal.SIGKILL)
        raise AssertionError("the child outlived its parent")


def test_a_child_that_hangs_while_a_batch_larger_than_the_pipe_is_written_to_it_is_killed(monkeypatch, caplog):
    """The feeding thread blocks writing to a stopped child; when the ticket times out, the child
    is killed, the feeding thread's write breaks and it ends; only the draining thread answers the
    tickets (two threads emptying the same queue could leave one waiting forever)."""
    import os
    import queue
    import signal
    import threading
    import time

    class SlowEmpty(queue.SimpleQueue):  # widens any check-then-get window
        def empty(self):
            result = super().empty()
            time.sleep(0.3)
            return result

    segmenter = segment.AheadSegmenter(ahead=True)
    try:
        first = segmenter.submit(TEXTS[:1])
        segmenter.use(first)  # the child is up
        segmenter.done(first)
        segmenter._waiting = SlowEmpty()
        monkeypatch.setattr(segment, "AHEAD_TIMEOUT_SECONDS", 1)
        os.kill(segmenter._child.pid, signal.SIGSTOP)  # hung: reads nothing
        ticket = segmenter.submit([f"文本{n}" * 50 for n in range(5000)])  # far more than a pipe holds
        used = threading.Event()
        threading.Thread(target=lambda: (segmenter.use(ticket), used.set()), daemon=True).start()
        assert used.wait(20), "use() never returned"
        assert "segmenting inline" in caplog.text and segmenter._child is None
        assert segmenter._feeder is None
    finally:
        segmenter.close()


def test_the_child_keeps_short_texts_words_and_forgets_them_past_its_bound(monkeypatch):
    """``serve`` answers a short text seen before from what it kept (an enterprise's name on each of
    its cases), a long one afresh; past ``CHILD_KEPT_TEXTS`` it starts over. Same words either way."""
    import io
    import pickle

    calls: list[str] = []
    real = segment._segmented

    def counted(text):
        calls.append(text)
        return real(text)

    monkeypatch.setattr(segment, "_segmented", counted)
    monkeypatch.setattr(segment, "CHILD_KEPT_TEXTS", 3)
    name, long_text = "信阳合成企业有限公司", "用电增容" * 20
    batches = [[name, long_text, "甲公司"], [name, long_text], ["乙公司", "丙公司", name]]
    source = io.BytesIO(b"".join(pickle.dumps(batch) for batch in batches))
    sink = io.BytesIO()
    segment.serve(source, sink)
    sink.seek(0)
    answers = []
    for _ in batches:
        size = int.from_bytes(sink.read(segment.ANSWER_HEADER), "little")
        answers.append(pickle.loads(sink.read(size)))
    assert sink.read() == b""
    assert answers == [(batch, [real(text) for text in batch]) for batch in batches]
    # The name and 甲公司 kept; the long text never; 丙公司 finds three kept and starts over.
    assert calls == [name, long_text, "甲公司", long_text, "乙公司", "丙公司", name]


def test_answers_wait_in_a_file_not_in_memory_until_used_and_are_counted_until_answered():
    """The checking pass asks for many batches ahead: each answer goes to the answers file as it
    comes; ``outstanding`` counts the batches not answered yet; a ticket used late reads its own."""
    segmenter = segment.AheadSegmenter(ahead=True)
    try:
        batches = [[f"{text}{n}" for text in TEXTS] for n in range(6)]
        tickets = [segmenter.submit(batch) for batch in batches]
        assert 0 < segmenter.outstanding() <= 6
        for ticket in tickets:
            ticket.future.result(timeout=60)
        assert segmenter.outstanding() == 0
        assert segmenter._answers.seek(0, 2) > 0  # on disk
        assert not segment._ahead  # nothing in memory until used
        for batch, ticket in reversed(list(zip(batches, tickets, strict=True))):
            segmenter.use(ticket)
            assert ticket.texts == batch
            assert [segment.document_words(text) for text in batch] == [
                segment._segmented(t) and list(segment._segmented(t)) for t in batch
            ]
            segmenter.done(ticket)
            assert not set(batch) & set(segment._ahead)
    finally:
        segmenter.close()
    assert segmenter._answers is None


def test_closed_with_batches_unanswered_the_child_is_stopped_at_once(monkeypatch):
    """An import that fails after its checking pass asked for batches ahead does not wait for the
    child to segment them."""
    import time

    segmenter = segment.AheadSegmenter(ahead=True)
    first = segmenter.submit(TEXTS[:1])
    segmenter.use(first)  # the child is up
    child = segmenter._child
    for n in range(40):
        segmenter.submit([f"{text}{n}" * 40 for text in TEXTS * 200])
    assert segmenter.outstanding() > 0
    started = time.monotonic()
    segmenter.close()
    assert time.monotonic() - started < 5
    assert child.poll() is not None and segmenter._child is None


def test_no_room_for_the_answers_leaves_the_texts_to_be_segmented_here(monkeypatch, caplog):
    """The answers file cannot be written (a full temporary directory): the child is stopped, the
    ticket fails, and the words are segmented here — the same words."""
    import errno

    def full(*args):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(segment.os, "pwrite", full)
    segmenter = segment.AheadSegmenter(ahead=True)
    try:
        ticket = segmenter.submit(TEXTS)
        segmenter.use(ticket)
        assert "segmenting inline" in caplog.text and segmenter._child is None
        assert not set(TEXTS) & set(segment._ahead)
        assert segment.document_words(TEXTS[1]) == ["稳岗", "补贴", "稳岗补贴", "申领", "困难"]
        assert segmenter.submit(TEXTS) is None  # no second child for this writer
    finally:
        segmenter.close()
