"""Chinese word segmentation for the search index and for queries (jieba + our user dictionary).

Chinese has no spaces, so a document is stored as its words separated by spaces; both databases
then index those words as they are (PostgreSQL's ``simple`` text-search configuration, SQLite's
FTS5 ``unicode61`` tokenizer: both split on spaces and punctuation and fold case, nothing else).

jieba builds its prefix dictionary on first use (about a second, or a few hundred milliseconds
from its cache file), so one tokenizer is made lazily per process and shared. Its cache file goes
to the system's temporary directory (``JIEBA_CACHE_DIR`` overrides it), never next to the package:
a read-only deployment still starts, it only rebuilds the dictionary in memory.
"""

from __future__ import annotations

import logging
import os
import pickle
import queue
import re
import subprocess
import sys
import tempfile
import threading
from collections import deque
from concurrent.futures import Future
from functools import lru_cache
from pathlib import Path

import jieba

USER_DICTIONARY = Path(__file__).with_name("userdict.txt")

# Runs of letters and digits: what both databases' tokenizers keep as one token.
_WORD = re.compile(r"[^\W_]+")
_HAS_CJK = re.compile(r"[\u3400-\u9fff]")

# Words that say nothing about what a problem is about; left out of queries (never of documents,
# so a search for one of them alone still finds it).
STOPWORDS = frozenset(
    "的 了 和 与 及 或 在 是 有 对 为 等 将 把 被 也 都 并 而 但 就 又 其 该 此 这 那 之 于 以 向 从 到 由 "
    "我们 我司 本司 公司 企业 有限公司 有限责任公司 反映 问题 希望 请求 要求 帮助 协调 解决 "
    "目前 现在 一直 相关 情况 需要 能够 尽快 进行 存在 导致 影响 造成 方面 工作".split()
)

_lock = threading.Lock()
_tokenizer: jieba.Tokenizer | None = None


def tokenizer() -> jieba.Tokenizer:
    """The process's jieba tokenizer with the user dictionary loaded (built once, on first use)."""
    global _tokenizer
    if _tokenizer is None:
        with _lock:
            if _tokenizer is None:
                jieba.setLogLevel(logging.WARNING)
                made = jieba.Tokenizer()
                made.tmp_dir = os.environ.get("JIEBA_CACHE_DIR") or tempfile.gettempdir()
                made.initialize()
                made.load_userdict(str(USER_DICTIONARY))
                _tokenizer = made
    return _tokenizer


def _normal(pieces) -> list[str]:
    words: list[str] = []
    for piece in pieces:
        words.extend(match.lower() for match in _WORD.findall(piece))
    return words


def _with_inner_words(words, dictionary) -> list[str]:
    """Each word, preceded by the dictionary words inside it (any length, unlike jieba's search
    mode, which only looks for two and three characters): 研发费用加计扣除 also gives 加计扣除."""
    out: list[str] = []
    for word in words:
        size = len(word)
        if size > 2:
            out += [
                word[i:j]
                for i in range(size - 1)
                for j in range(i + 2, min(size, i + 9) + 1)
                if (j - i) < size and dictionary.get(word[i:j])
            ]
        out.append(word)
    return out


def document_words(text: str) -> list[str]:
    """Every word of a text for the index: the words jieba finds, and the shorter dictionary words
    inside each (用电增容 → 用电, 增容, 用电增容), so a query for any of them finds the text."""
    if not text:
        return []
    words = _ahead.get(text)
    if words is None:
        words = _recent(text) if len(text) <= CACHED_TEXT_CHARS else _segmented(text)
    return list(words)


def _segmented(text: str) -> tuple[str, ...]:
    segmenter = tokenizer()
    return tuple(_normal(_with_inner_words(segmenter.cut(text, HMM=True), segmenter.FREQ)))


# A case's description is read by its search row and by the routing model in the same save: the
# last texts are kept, so jieba runs once, not twice. Bounded by count and by each text's length
# (an entry costs about 50 bytes a character): at most ~50 MB a process, ~10 MB as texts go.
CACHED_TEXT_CHARS = 1000
_recent = lru_cache(maxsize=1024)(_segmented)


def query_words(text: str) -> list[str]:
    """The words of a query, in order and without repeats (jieba's precise mode, no stopwords;
    when every word is a stopword the query keeps them, so 企业 alone still searches)."""
    if not text or not text.strip():
        return []
    words = list(dict.fromkeys(_normal(tokenizer().cut(text, HMM=True))))
    kept = [word for word in words if word not in STOPWORDS]
    return kept or words


def joined(words: list[str]) -> str:
    return " ".join(words)


def has_chinese(text: str) -> bool:
    return bool(_HAS_CJK.search(text))


# -- segmenting ahead, in a child process -------------------------------------------------------

# How long a batch's words are waited for before the child is taken for hung, killed, and the
# texts segmented here (2,000 texts take it about 0.2 s; its start, a second or two, comes first).
AHEAD_TIMEOUT_SECONDS = 120

# The child keeps the words of this many texts of at most this many characters: about 25 MB, for
# about an eighth of its work on a generated 100,000-row file (29,000 of 197,000 texts seen before).
CHILD_KEPT_TEXTS = 50_000
CHILD_KEPT_CHARS = 64

# Texts an ``AheadSegmenter`` segmented, until the writer that asked says it is done with them.
_ahead: dict[str, tuple[str, ...]] = {}


def serve(source=None, sink=None) -> None:
    """The child: read a pickled list of texts, write back the pickled pair (those texts, their
    words) after its length (``ANSWER_HEADER`` bytes), until the parent closes the pipe — or dies,
    which closes it too (the child never outlives it)."""
    source = source or sys.stdin.buffer
    sink = sink or sys.stdout.buffer
    # Short texts come back batch after batch (an enterprise's name on each of its cases, a usual
    # closing text): their words are kept, up to ``CHILD_KEPT_TEXTS`` of them, then forgotten.
    kept: dict[str, tuple[str, ...]] = {}
    while True:
        try:
            texts = pickle.load(source)
        except EOFError:
            return
        answers = []
        for text in texts:
            words = kept.get(text)
            if words is None:
                words = _segmented(text)
                if len(text) <= CHILD_KEPT_CHARS:
                    if len(kept) >= CHILD_KEPT_TEXTS:
                        kept.clear()
                    kept[text] = words
            answers.append(words)
        answer = pickle.dumps((texts, answers), protocol=pickle.HIGHEST_PROTOCOL)
        sink.write(len(answer).to_bytes(ANSWER_HEADER, "little"))
        sink.write(answer)
        sink.flush()


ANSWER_HEADER = 8  # bytes: an answer's length, before it


class _ChildGone(Exception):
    pass


class Ticket:
    """A batch of texts asked of the child: ``future`` answers where its words lie in the answers
    file; ``texts`` are the texts ``use`` made ``document_words`` answer (``done`` forgets them)."""

    __slots__ = ("future", "texts")

    def __init__(self, future: Future) -> None:
        self.future = future
        self.texts: list[str] = []


class AheadSegmenter:
    """Segments a bulk import's texts in a child process, ahead of the writer that needs them:
    jieba moves to the other core.

    ``submit`` hands over a batch's texts and returns a ticket; ``use(ticket)`` waits for its
    words and makes ``document_words`` answer them from memory (the same words jieba gives here:
    same dictionary, same code) until ``done(ticket)``. The writer asks for its next batch while it
    writes the one before; the import's checking pass asks for the batches to come while the other
    core has nothing else to do (``cases.importing.engine``), as far ahead as the answers file
    allows: the child's answers go to a temporary file as they come (a few hundred bytes a row),
    not to memory, and ``outstanding`` tells how many batches the child has yet to answer.

    The child is a plain interpreter started with ``subprocess`` (not ``multiprocessing``: a Celery
    prefork worker may not have children of that kind), fed through its standard input by a thread
    of ours; another thread of ours drains its answers, so neither side blocks the other. Without a
    child — it could not be started, it died or hung (killed after ``AHEAD_TIMEOUT_SECONDS``), the
    answers file found no room, or ``ahead`` is off — a ticket holds nothing or fails, and
    ``document_words`` segments here as usual. ``close`` stops the child and forgets every text."""

    def __init__(self, *, ahead: bool) -> None:
        self._child: subprocess.Popen | None = None
        self._answers = None  # the answers file (temporary, unlinked), with the child
        self._wanted = ahead
        self._waiting: queue.SimpleQueue = queue.SimpleQueue()  # futures, in the order asked
        self._asked: deque[Future] = deque()  # the same, until answered (``outstanding``)
        self._requests: queue.SimpleQueue = queue.SimpleQueue()  # texts for our feeding thread to send
        self._feeder: threading.Thread | None = None
        self._drainer: threading.Thread | None = None
        self._texts: set[str] = set()
        self._gone_lock = threading.Lock()  # our draining thread's end and ``submit``'s queueing
        self._gone = False  # our draining thread has failed the futures left: queue no more

    def _start(self) -> subprocess.Popen | None:
        if self._child is None and self._wanted:
            root = str(Path(__file__).resolve().parents[2])
            env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [root, os.environ.get("PYTHONPATH")]))}
            try:
                self._answers = tempfile.TemporaryFile(prefix="caseledger-words-")
                self._gone = False
                self._child = subprocess.Popen(
                    [sys.executable, "-c", "from cases.search.segment import serve; serve()"],
                    stdin=subprocess.PIPE,
                    stdout=subprocess.PIPE,
                    env=env,
                    cwd=root,
                )
            except OSError as error:
                logging.getLogger(__name__).warning("segmenting inline: no child process (%s)", error)
                self._wanted = False
                self._close_answers()
                return None
            self._drainer = threading.Thread(
                target=self._drain, args=(self._child, self._answers.fileno()), daemon=True
            )
            self._drainer.start()
            # A batch's texts outgrow the pipe: written by a thread of ours, so that the writer
            # goes on while the child reads them (it starts reading only once jieba is loaded).
            self._feeder = threading.Thread(target=self._feed, args=(self._child, self._requests), daemon=True)
            self._feeder.start()
        return self._child

    def _feed(self, child: subprocess.Popen, requests: queue.SimpleQueue) -> None:
        """Our thread: send each batch of texts asked for, in order, until told to stop (None)."""
        while (texts := requests.get()) is not None:
            try:
                pickle.dump(texts, child.stdin, protocol=pickle.HIGHEST_PROTOCOL)
                child.stdin.flush()
            except (OSError, ValueError):  # a broken pipe (the child died) or a closed one
                # No answers come: the child is stopped (if it still runs), so that our draining
                # thread reads the end of its output and fails the tickets waiting — that thread
                # alone answers them.
                if child.poll() is None:
                    child.kill()
                return

    def _drain(self, child: subprocess.Popen, answers: int) -> None:
        """Our thread: each answer into the answers file, and where it lies to the future asked
        first; when the child is gone (or the file has no room: then the child is stopped), fail
        the rest."""
        end = 0
        while True:
            try:
                header = child.stdout.read(ANSWER_HEADER)
                size = int.from_bytes(header, "little") if len(header) == ANSWER_HEADER else -1
                answer = child.stdout.read(size) if size >= 0 else b""
                if len(answer) != size:  # the end of its output, or a torn answer: the child is gone
                    break
                written = 0
                while written < size:
                    written += os.pwrite(answers, answer[written:], end + written)
            except Exception:  # noqa: BLE001 - a broken pipe, no room in the answers file
                if child.poll() is None:
                    child.kill()
                break
            self._waiting.get().set_result((end, size))
            end += size
        with self._gone_lock:
            self._gone = True
            while not self._waiting.empty():
                self._waiting.get().set_exception(_ChildGone("the child process stopped"))

    def submit(self, texts: list[str]) -> Ticket | None:
        texts = [text for text in dict.fromkeys(texts) if text and text not in _ahead]
        child = self._start() if texts else None
        if child is None:
            return None
        future: Future = Future()
        with self._gone_lock:
            gone = self._gone or child.poll() is not None
            if not gone:
                self._waiting.put(future)
        if gone:
            logging.getLogger(__name__).warning("segmenting inline: the child process stopped (%s)", child.returncode)
            self._stop()
            return None
        self._asked.append(future)
        self._requests.put(texts)
        return Ticket(future)

    def outstanding(self) -> int:
        """Batches asked and not answered yet (nor failed)."""
        while self._asked and self._asked[0].done():
            self._asked.popleft()
        return len(self._asked)

    def use(self, ticket: Ticket | None) -> None:
        if ticket is None:
            return
        try:
            end, size = ticket.future.result(timeout=AHEAD_TIMEOUT_SECONDS)
            if self._answers is None:  # stopped since it was answered
                raise _ChildGone("the child process was stopped")
            texts, words = pickle.loads(os.pread(self._answers.fileno(), size, end))
        except (TimeoutError, _ChildGone, OSError) as error:
            logging.getLogger(__name__).warning("segmenting inline: the child process failed (%r)", error)
            self._stop()
            return
        _ahead.update(zip(texts, words, strict=True))
        ticket.texts = texts
        self._texts.update(texts)

    def done(self, ticket: Ticket | None) -> None:
        if ticket is None:
            return
        for text in ticket.texts:
            _ahead.pop(text, None)
            self._texts.discard(text)
        ticket.texts = []

    def _stop(self) -> None:
        """No more child for this writer (a hung one is killed; our feeding thread ends)."""
        self._wanted = False
        if self._child is not None:
            self._child.kill()
            self._child.wait()
            self._child = None
        self._end_feeding()
        self._close_answers()

    def _end_feeding(self) -> None:
        if self._feeder is not None:
            self._requests.put(None)
            self._feeder.join(timeout=10)  # (it ends once the child is gone: its pipe breaks)
            self._feeder = None

    def _close_answers(self) -> None:
        """Close the answers file once our draining thread has ended (the child is gone): it
        writes by the file's descriptor, which a file opened afterwards could be given."""
        if self._drainer is not None:
            self._drainer.join(timeout=10)
            if self._drainer.is_alive():  # (never seen: the child is stopped, its output ends)
                return
            self._drainer = None
        if self._answers is not None:
            self._answers.close()
            self._answers = None

    def close(self) -> None:
        """Forget every text; stop the child: at once when it still has batches to answer (nobody
        will read them: the import failed or found nothing to write), else by closing its input."""
        for text in self._texts:
            _ahead.pop(text, None)
        self._texts.clear()
        if self._child is not None:
            if self.outstanding():
                self._child.kill()  # our feeding thread's write breaks, our draining thread reads the end
            if self._feeder is not None:
                self._requests.put(None)  # what was asked is sent, then our feeding thread ends
                self._feeder.join(timeout=10)
                if self._feeder.is_alive():  # the child reads nothing: killed, the pipe breaks
                    self._child.kill()
            self._end_feeding()
            try:
                self._child.stdin.close()  # the child reads EOF and exits
                self._child.wait(timeout=10)
            except (OSError, subprocess.TimeoutExpired):
                self._child.kill()
                self._child.wait()
            self._child = None
        self._close_answers()
