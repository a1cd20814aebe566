// kiln.js: optional enhancements for kiln's baked comment threads. Pages work
// fully without it. With it, readers post without leaving the page, reply
// under the comment they answer, preview their Markdown as it will be
// published, and see comments approved since the page was last baked.
// No framework, no eval, no inline handlers: it only listens and inserts
// HTML the receiver rendered and sanitized.

const json = (response) =>
  response.json().then((body) => ({ ok: response.ok, status: response.status, body }));

function post(url, data) {
  return fetch(url, {
    method: "POST",
    headers: { "Content-Type": "application/json", Accept: "application/json" },
    body: JSON.stringify(data),
  }).then(json);
}

function element(html) {
  const template = document.createElement("template");
  template.innerHTML = html.trim();
  return template.content.firstElementChild;
}

function child(parent, className) {
  let found = parent.querySelector(":scope > ." + className);
  if (!found) {
    found = document.createElement("div");
    found.className = className;
    parent.appendChild(found);
  }
  return found;
}

// Focus moves scroll what gets it into view: at once under reduced motion,
// even where the site's CSS asks for smooth scrolling.
const still = matchMedia("(prefers-reduced-motion: reduce)");
function focus(el) {
  el.focus({ preventScroll: true });
  el.scrollIntoView({ block: "nearest", behavior: still.matches ? "instant" : "auto" });
}

function enhance(thread) {
  const form = thread.querySelector("form.kiln-form");
  if (!form) return;
  const api = form.action.replace(/\/comments$/, "");
  const home = form.nextSibling;
  const heading = form.querySelector(".kiln-form-title");
  const title = heading ? heading.textContent : "";
  const live = document.createElement("p");
  live.className = "kiln-live";
  live.setAttribute("role", "status");
  live.setAttribute("aria-live", "polite");
  thread.appendChild(live);
  // Emptied first, so the same message twice is announced twice.
  const say = (text) => {
    live.textContent = "";
    setTimeout(() => (live.textContent = text), 100);
  };

  // Where a comment goes: under its parent, or last among the top level.
  function place(node, parent) {
    const article = parent && thread.querySelector("#kiln-comment-" + parent);
    let list = article ? child(article, "kiln-replies") : thread.querySelector(":scope > .kiln-comments");
    if (!list) {
      list = document.createElement("div");
      list.className = "kiln-comments";
      thread.insertBefore(list, form.parentNode === thread ? form : home);
    }
    list.appendChild(node);
  }

  function field(name) {
    return form.elements[name];
  }

  function clearErrors() {
    form.querySelectorAll(".kiln-js-error").forEach((p) => p.remove());
    form.querySelectorAll("[aria-invalid]").forEach((f) => {
      f.removeAttribute("aria-invalid");
      const rest = (f.getAttribute("aria-describedby") || "").replace(f.id + "-js-error", "").trim();
      if (rest) f.setAttribute("aria-describedby", rest);
      else f.removeAttribute("aria-describedby");
    });
  }

  function showError(error) {
    clearErrors();
    const input = field(error.field);
    const p = document.createElement("p");
    p.className = "kiln-error kiln-js-error";
    p.textContent = error.message;
    if (input && input.id) {
      p.id = input.id + "-js-error";
      input.setAttribute("aria-invalid", "true");
      // Before the hint, which stays.
      input.setAttribute("aria-describedby", (p.id + " " + (input.getAttribute("aria-describedby") || "")).trim());
      input.insertAdjacentElement("afterend", p);
      focus(input);
    } else {
      // Not about one field (a limit, the network): the message itself.
      p.tabIndex = -1;
      form.prepend(p);
      focus(p);
    }
    say(error.message);
  }

  function moveHome() {
    thread.insertBefore(form, home);
    if (field("parent")) field("parent").value = "";
    if (heading) heading.textContent = title;
    const cancel = form.querySelector(".kiln-cancel");
    if (cancel) cancel.remove();
  }

  form.addEventListener("submit", (event) => {
    event.preventDefault();
    clearErrors();
    const data = Object.fromEntries(new FormData(form));
    data.notify = Boolean(data.notify);
    const button = form.querySelector("[type=submit]");
    button.disabled = true;
    post(form.action, data)
      .then(({ ok, body }) => {
        if (!ok) return showError(body.error || { message: "The comment was refused." });
        const node = element(body.html);
        if (body.comment && body.comment.status !== "approved") {
          node.classList.add("kiln-pending");
          const note = document.createElement("p");
          note.className = "kiln-pending-note";
          note.textContent = "Awaiting moderation";
          node.prepend(note);
        }
        place(node, data.parent);
        field("text").value = "";
        const preview = form.querySelector(".kiln-preview");
        if (preview) preview.remove();
        moveHome();
        node.setAttribute("tabindex", "-1");
        focus(node);
        say(
          node.classList.contains("kiln-pending")
            ? "Posted. Your comment will appear for everyone once a moderator approves it."
            : "Posted."
        );
      })
      .catch(() => showError({ message: "Could not reach the comment server; your text is still here. Try again." }))
      .finally(() => (button.disabled = false));
  });

  thread.addEventListener("click", (event) => {
    const link = event.target.closest("a.kiln-reply");
    if (!link) return;
    const parent = new URL(link.href).searchParams.get("parent");
    const article = link.closest("article");
    if (!parent || !article) return;
    event.preventDefault();
    let input = field("parent");
    if (!input) {
      input = document.createElement("input");
      input.type = "hidden";
      input.name = "parent";
      form.prepend(input);
    }
    input.value = parent;
    link.closest(".kiln-actions").insertAdjacentElement("afterend", form);
    if (heading) heading.textContent = "Write a reply";
    if (!form.querySelector(".kiln-cancel")) {
      const cancel = document.createElement("button");
      cancel.type = "button";
      cancel.className = "kiln-cancel";
      cancel.textContent = "Cancel reply";
      cancel.addEventListener("click", () => {
        moveHome();
        focus(link);
      });
      form.querySelector(".kiln-submit").append(cancel);
    }
    focus(field("text"));
  });

  const preview = document.createElement("button");
  preview.type = "button";
  preview.className = "kiln-preview-button";
  preview.textContent = "Preview";
  form.querySelector(".kiln-submit").prepend(preview, " ");
  preview.addEventListener("click", () => {
    post(api + "/api/preview", { text: field("text").value })
      .then(({ ok, body }) => {
        if (!ok) return showError(body.error);
        let shown = form.querySelector(".kiln-preview");
        if (!shown) {
          shown = document.createElement("div");
          shown.className = "kiln-preview";
          shown.setAttribute("aria-label", "Preview");
          field("text").closest(".kiln-field").after(shown);
        }
        shown.innerHTML = body.html;
        say("Preview updated.");
      })
      .catch(() => say("Could not reach the comment server for a preview."));
  });

  // Comments approved after this page was baked, once the thread is seen.
  const id = field("thread") && field("thread").value;
  const after = thread.dataset.kilnCursor || "0";
  if (!id || !("IntersectionObserver" in window)) return;
  const watcher = new IntersectionObserver((entries) => {
    if (!entries.some((e) => e.isIntersecting)) return;
    watcher.disconnect();
    const query = new URLSearchParams({ thread: id, after });
    fetch(api + "/api/comments?" + query, { headers: { Accept: "application/json" } })
      .then(json)
      .then(({ ok, body }) => {
        if (!ok) return;
        for (const comment of body.comments) {
          if (!document.getElementById("kiln-comment-" + comment.id)) {
            place(element(comment.html), comment.parent);
          }
        }
      })
      .catch(() => {});
  });
  watcher.observe(thread);
}

// Counts (`data-kiln-count`, e.g. on list pages), topped up by one request
// once any of them is on screen. An empty id means this page's path.
function topUpCounts() {
  const counts = document.querySelectorAll("[data-kiln-count]");
  if (!counts.length || !("IntersectionObserver" in window)) return;
  const idOf = (el) => el.dataset.kilnCount || location.pathname;
  const watcher = new IntersectionObserver((entries) => {
    if (!entries.some((e) => e.isIntersecting)) return;
    watcher.disconnect();
    const query = new URLSearchParams();
    [...new Set([...counts].map(idOf))].slice(0, 100).forEach((id) => query.append("thread", id));
    fetch(new URL("api/counts?" + query, import.meta.url), { headers: { Accept: "application/json" } })
      .then(json)
      .then(({ ok, body }) => {
        if (!ok) return;
        counts.forEach((el) => {
          const found = Object.hasOwn(body.counts, idOf(el)) && body.counts[idOf(el)];
          if (found) el.innerHTML = found.html;
        });
      })
      .catch(() => {});
  });
  counts.forEach((el) => watcher.observe(el));
}

document.querySelectorAll(".kiln-thread").forEach(enhance);
topUpCounts();
