"""`founderops kb import`: Markdown articles in; invalid files reported by path and skipped."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from founderops.support import importers
from founderops.support.models import KnowledgeArticle

pytestmark = pytest.mark.django_db

DEMO_KB = Path(importers.__file__).resolve().parents[1] / "cli" / "demo_data" / "kb"

ARTICLE = """\
---
title: Reset your password
intent: reset_password
examples:
  - I forgot my password
  - error: the reset link expired
---
Passwords are stored hashed.

## Answer
Click **Forgot password** on the login page.

## Notes
Links last an hour.
"""


def write(folder: Path, name: str, text: str | bytes) -> Path:
    path = folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text, encoding="utf-8")
    return path


def run(folder: Path) -> importers.ArticleImport:
    return importers.import_articles(folder, train=False)


def reasons(report: importers.ArticleImport) -> list[str]:
    return [str(problem) for problem in report.rejected]


def test_it_imports_an_article_with_its_answer_section(tmp_path: Path) -> None:
    write(tmp_path, "reset-password.md", ARTICLE)
    run(tmp_path)
    article = KnowledgeArticle.objects.get()
    assert (article.answer, article.body) == (
        "Click **Forgot password** on the login page.",
        "Passwords are stored hashed.\n\n## Notes\nLinks last an hour.",
    )


def test_it_keeps_a_colon_in_an_example_as_text(tmp_path: Path) -> None:
    write(tmp_path, "reset.md", ARTICLE)
    run(tmp_path)
    assert KnowledgeArticle.objects.get().examples == [
        "I forgot my password",
        "error: the reset link expired",
    ]


def test_it_takes_the_slug_from_the_file_name(tmp_path: Path) -> None:
    write(tmp_path, "Reset Password.md", ARTICLE)
    run(tmp_path)
    assert KnowledgeArticle.objects.get().slug == "reset-password"


def test_it_updates_the_article_with_the_same_slug(tmp_path: Path) -> None:
    write(tmp_path, "reset.md", ARTICLE)
    run(tmp_path)
    write(tmp_path, "reset.md", ARTICLE.replace("title: Reset your password", "title: New"))
    report = run(tmp_path)
    assert (report.summary(), KnowledgeArticle.objects.get().title) == (
        "imported 1 (created 0, updated 1), rejected 0",
        "New",
    )


def test_it_takes_the_answer_from_the_front_matter(tmp_path: Path) -> None:
    text = (
        "---\ntitle: Hours\nintent: support_hours\nanswer: |\n  We answer\n  9 to 5.\n---\nBody\n"
    )
    write(tmp_path, "hours.md", text)
    run(tmp_path)
    assert KnowledgeArticle.objects.get().answer == "We answer\n9 to 5."


def test_it_stores_an_unpublished_article(tmp_path: Path) -> None:
    write(tmp_path, "reset.md", ARTICLE.replace("intent:", "published: false\nintent:"))
    run(tmp_path)
    assert KnowledgeArticle.objects.get().published is False


def test_it_reports_a_file_without_front_matter_and_keeps_the_others(tmp_path: Path) -> None:
    write(tmp_path, "a.md", "# Just notes\n")
    write(tmp_path, "b.md", ARTICLE)
    report = run(tmp_path)
    assert (reasons(report), report.created) == (
        ["a.md: no front matter: the file must start with a '---' line"],
        ["b"],
    )


def test_it_rejects_an_unclosed_front_matter(tmp_path: Path) -> None:
    write(tmp_path, "a.md", "---\ntitle: x\n")
    assert reasons(run(tmp_path)) == ["a.md: the front matter is not closed by a second '---' line"]


def test_it_rejects_an_unknown_field(tmp_path: Path) -> None:
    write(tmp_path, "a.md", ARTICLE.replace("intent:", "author: me\nintent:"))
    assert reasons(run(tmp_path))[0].startswith("a.md: unknown field 'author'")


def test_it_rejects_a_line_it_does_not_understand(tmp_path: Path) -> None:
    write(tmp_path, "a.md", ARTICLE.replace("intent:", "just words\nintent:"))
    assert reasons(run(tmp_path))[0].startswith(
        "a.md: line 3 of the front matter is not understood"
    )


def test_it_rejects_a_field_set_twice(tmp_path: Path) -> None:
    write(tmp_path, "a.md", ARTICLE.replace("intent:", "title: Again\nintent:"))
    assert reasons(run(tmp_path)) == ["a.md: line 3: title is set twice"]


def test_it_rejects_a_file_without_an_answer(tmp_path: Path) -> None:
    write(tmp_path, "a.md", "---\ntitle: T\nintent: i\n---\nNo answer here.\n")
    assert reasons(run(tmp_path)) == [
        "a.md: no answer: add a '## Answer' section or an 'answer:' field"
    ]


def test_it_rejects_an_answer_given_twice(tmp_path: Path) -> None:
    write(tmp_path, "a.md", ARTICLE.replace("intent:", "answer: short\nintent:"))
    assert "the answer is given twice" in reasons(run(tmp_path))[0]


def test_it_rejects_a_missing_intent(tmp_path: Path) -> None:
    write(tmp_path, "a.md", ARTICLE.replace("intent: reset_password\n", ""))
    assert reasons(run(tmp_path)) == ["a.md: missing field 'intent'"]


def test_it_rejects_an_intent_of_several_words(tmp_path: Path) -> None:
    write(tmp_path, "a.md", ARTICLE.replace("intent: reset_password", "intent: reset password"))
    assert "intent must be one word" in reasons(run(tmp_path))[0]


def test_it_rejects_the_unknown_intent_oos(tmp_path: Path) -> None:
    write(tmp_path, "a.md", ARTICLE.replace("intent: reset_password", "intent: oos"))
    assert "needs an intent other than 'oos'" in reasons(run(tmp_path))[0]


def test_it_rejects_published_that_is_not_true_or_false(tmp_path: Path) -> None:
    write(tmp_path, "a.md", ARTICLE.replace("intent:", "published: maybe\nintent:"))
    assert reasons(run(tmp_path)) == ["a.md: published must be true or false, not 'maybe'"]


def test_it_rejects_a_slug_that_is_not_a_slug(tmp_path: Path) -> None:
    write(tmp_path, "a.md", ARTICLE.replace("intent:", "slug: Not A Slug\nintent:"))
    assert "is not a slug" in reasons(run(tmp_path))[0]


def test_it_rejects_a_second_file_with_the_same_slug(tmp_path: Path) -> None:
    write(tmp_path, "a.md", ARTICLE)
    write(tmp_path, "b.md", ARTICLE.replace("intent:", "slug: a\nintent:"))
    assert reasons(run(tmp_path)) == ["b.md: slug 'a' is already used by a.md"]


def test_it_reads_a_windows_1252_article(tmp_path: Path) -> None:
    write(tmp_path, "a.md", ARTICLE.replace("hashed", "hashed \u2013 café").encode("cp1252"))
    run(tmp_path)
    assert KnowledgeArticle.objects.get().body.startswith("Passwords are stored hashed \u2013 café")


def test_it_skips_the_readme_and_hidden_folders(tmp_path: Path) -> None:
    write(tmp_path, "README.md", "# How to write articles\n")
    write(tmp_path, ".drafts/x.md", ARTICLE)
    write(tmp_path, "billing/reset.md", ARTICLE)
    assert run(tmp_path).summary() == "imported 1 (created 1, updated 0), rejected 0"


def test_it_imports_the_demo_knowledge_base() -> None:
    report = run(DEMO_KB)
    assert (len(report.created), report.rejected) == (len(list(DEMO_KB.glob("*.md"))), [])


def test_the_command_queues_the_classifier_refresh(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, django_capture_on_commit_callbacks: object
) -> None:
    queued: list[str] = []
    monkeypatch.setattr("founderops.core.jobs.enqueue", lambda f, *a, **_: queued.append(f))
    write(tmp_path, "a.md", ARTICLE)
    with django_capture_on_commit_callbacks(execute=True):  # type: ignore[operator]
        call_command("kb", "import", str(tmp_path), stdout=io.StringIO())
    assert queued == ["founderops.support.tasks.refresh_classifier"]


def test_the_command_does_not_train_with_no_train(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, django_capture_on_commit_callbacks: object
) -> None:
    queued: list[str] = []
    monkeypatch.setattr("founderops.core.jobs.enqueue", lambda f, *a, **_: queued.append(f))
    write(tmp_path, "a.md", ARTICLE)
    with django_capture_on_commit_callbacks(execute=True):  # type: ignore[operator]
        call_command("kb", "import", str(tmp_path), "--no-train", stdout=io.StringIO())
    assert queued == []


def test_the_command_prints_each_rejected_file_and_a_summary(tmp_path: Path) -> None:
    write(tmp_path, "a.md", "no front matter")
    out = io.StringIO()
    call_command("kb", "import", str(tmp_path), "--no-train", stdout=out)
    assert out.getvalue().splitlines() == [
        f"{tmp_path / 'a.md'}: rejected: no front matter: the file must start with a '---' line",
        "imported 0 (created 0, updated 0), rejected 1",
    ]


def test_the_command_fails_for_a_missing_folder(tmp_path: Path) -> None:
    with pytest.raises(CommandError, match="is not a folder"):
        call_command("kb", "import", str(tmp_path / "nowhere"))


def test_it_skips_a_symbolic_link_saying_why(tmp_path: Path) -> None:
    outside = write(tmp_path / "elsewhere", "secret.md", ARTICLE)
    folder = tmp_path / "kb"
    folder.mkdir()
    (folder / "link.md").symlink_to(outside)
    report = run(folder)
    assert reasons(report) == [
        "link.md: a symbolic link: skipped (only files inside the folder are read)"
    ]
    assert not KnowledgeArticle.objects.exists()


def test_it_rejects_a_later_article_for_an_intent_already_answered(tmp_path: Path) -> None:
    write(tmp_path, "a.md", ARTICLE)
    write(tmp_path, "b.md", ARTICLE)
    report = run(tmp_path)
    assert reasons(report) == ["b.md: intent 'reset_password' is already answered by article a"]
    assert list(KnowledgeArticle.objects.values_list("slug", flat=True)) == ["a"]
