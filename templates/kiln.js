const json = (r) => r.json().then((body) => ({ ok: r.ok, status: r.status, body }));
const get = (url) => fetch(url, { headers: { Accept: "application/json" } }).then(json);

const post = (url, data) =>
  fetch(url, {
    method: "POST",
    credentials: "include",
    headers: { "Content-Type": "application/json", Accept: "application/json" },
    body: JSON.stringify(data),
  }).then(json);

function seen(targets, then) {
  const watcher = new IntersectionObserver((entries) => {
    if (!entries.some((e) => e.isIntersecting)) return;
    watcher.disconnect();
    then();
  });
  targets.forEach((el) => watcher.observe(el));
}

function element(html) {
  const t = document.createElement("template");
  t.innerHTML = html.trim();
  return t.content.firstElementChild;
}

function make(tag, className, text) {
  const el = document.createElement(tag);
  el.className = className;
  el.textContent = text;
  if (tag === "button") el.type = "button";
  return el;
}

const still = matchMedia("(prefers-reduced-motion: reduce)");
function focus(el) {
  el.focus({ preventScroll: true });
  el.scrollIntoView({ block: "nearest", behavior: still.matches ? "instant" : "auto" });
}

const KEY = "kiln-edits";
function load() {
  try {
    const all = JSON.parse(localStorage[KEY] || "{}");
    for (const id in all) if (!(all[id]?.until > Date.now())) delete all[id];
    return all;
  } catch {
    return {};
  }
}
const fields = (c) => ({ text: c.text, name: c.author, website: c.website });

function mark(node, comment) {
  if (comment.status === "approved") return;
  node.classList.add("kiln-pending");
  node.querySelector(":scope > .kiln-actions .kiln-reply")?.remove();
  node.prepend(make("p", "kiln-pending-note", M.awaiting));
}

const receiver = document.querySelector("script[data-kiln-live]")?.dataset.kilnLive;

// The words, in the page's language: the thread's data-kiln-messages.
let M;
const offline = () => ({ message: M.offline });

function enhance(thread) {
  const form = thread.querySelector("form.kiln-form");
  if (!form) return;
  M = JSON.parse(thread.dataset.kilnMessages);
  const api = form.action.replace(/\/comments$/, "");
  const home = form.nextSibling;
  const heading = form.querySelector(".kiln-form-title");
  const title = heading?.textContent;
  const field = (name) => form.elements[name];
  const count = thread.querySelector(".kiln-heading");
  let n = +thread.querySelector("meta[itemprop=commentCount]")?.content || 0;
  const counted = (by) => {
    n += by;
    if (/^(No comments yet|\d+ comments?)$/.test(count?.textContent))
      count.textContent = n ? n + (n > 1 ? " comments" : " comment") : "No comments yet";
  };
  const live = thread.appendChild(make("p", "kiln-live"));
  live.setAttribute("role", "status");
  const say = (text) => {
    live.textContent = "";
    setTimeout(() => (live.textContent = text), 100);
  };
  function show(node, message) {
    node.tabIndex = -1;
    focus(node);
    say(message);
  }

  function place(node, parent) {
    const article = parent && thread.querySelector("#kiln-comment-" + parent);
    let list = thread.querySelector(":scope > .kiln-list");
    if (article) {
      list = article.querySelector(":scope > .kiln-replies") || article.appendChild(make("div", "kiln-replies"));
    } else if (!list) {
      list = make("div", "kiln-list");
      thread.insertBefore(list, form.parentNode === thread ? form : home);
    }
    list.appendChild(node);
    counted(1);
  }

  function clearErrors(f = form) {
    f.querySelectorAll(".kiln-js-error").forEach((p) => p.remove());
    f.querySelectorAll("[aria-invalid]").forEach((input) => {
      input.removeAttribute("aria-invalid");
      const rest = (input.getAttribute("aria-describedby") || "").replace(input.id + "-js-error", "").trim();
      if (rest) input.setAttribute("aria-describedby", rest);
      else input.removeAttribute("aria-describedby");
    });
  }

  function showError(error, f = form) {
    clearErrors(f);
    const input = f.elements?.[error.field];
    const p = make("p", "kiln-error kiln-js-error", error.message);
    if (input?.id) {
      p.id = input.id + "-js-error";
      input.setAttribute("aria-invalid", "true");
      input.setAttribute("aria-describedby", (p.id + " " + (input.getAttribute("aria-describedby") || "")).trim());
      input.after(p);
      focus(input);
    } else {
      p.tabIndex = -1;
      f.prepend(p);
      focus(p);
    }
    say(error.message);
  }

  function moveHome() {
    thread.insertBefore(form, home);
    if (field("parent")) field("parent").value = "";
    if (heading) heading.textContent = title;
    form.querySelector(".kiln-cancel")?.remove();
  }

  function sync(id, entry) {
    const all = load();
    entry ? (all[id] = entry) : delete all[id];
    try {
      const text = JSON.stringify(all);
      if (text === "{}") delete localStorage[KEY];
      else localStorage[KEY] = text;
    } catch {}
    thread.querySelectorAll(".kiln-own").forEach((own) => all[own.closest("article").id.slice(13)] || own.remove());
    for (const kept in all) {
      const article = document.getElementById("kiln-comment-" + kept);
      if (thread.contains(article)) mine(article, kept, all[kept]);
    }
  }
  setInterval(sync, 1000);

  function mine(article, id, entry) {
    const actions = article.querySelector(":scope > .kiln-actions");
    if (!actions || actions.querySelector(".kiln-own")) return;
    const own = actions.appendChild(make("span", "kiln-own"));
    const edit = make("button", "", M.edit);
    const remove = make("button", "", M.delete);
    const reset = () => own.replaceChildren(edit, " ", remove, " " + M.until + " " + new Date(entry.until).toLocaleTimeString([], { timeStyle: "short" }));
    reset();
    let busy;
    const act = (data, f, done) =>
      busy ||
      (busy = post(entry.url, data)
        .then(({ ok, status, body }) => {
          if (ok) return done(body);
          if ([400, 404, 410].includes(status)) sync(id);
          showError(body.error, f);
        })
        .catch(() => showError(offline(), f))
        .finally(() => (busy = 0)));

    edit.addEventListener("click", () => {
      const body = article.querySelector(":scope > .kiln-body");
      if (body.hidden) return;
      const f = element(
        '<form class="kiln-editor"><label></label><textarea name="text" required></textarea><p><button></button></p></form>'
      );
      const text = f.elements.text;
      const cancel = make("button", "", M.cancel);
      const label = f.querySelector("label");
      label.textContent = M.editHeading;
      label.htmlFor = text.id = "kiln-edit-" + id;
      f.querySelector("button").textContent = M.save;
      text.value = entry.text;
      f.lastChild.append(cancel);
      cancel.addEventListener("click", () => {
        f.remove();
        body.hidden = false;
        article.tabIndex = -1;
        focus(edit.isConnected ? edit : article);
      });
      body.hidden = true;
      body.after(f);
      focus(text);
      f.addEventListener("submit", (event) => {
        event.preventDefault();
        act({ text: text.value, name: entry.name, website: entry.website }, f, (answer) => {
          if (article.contains(form)) moveHome();
          const node = element(answer.html);
          mark(node, answer.comment);
          node.append(...article.querySelectorAll(":scope > .kiln-replies"));
          article.replaceWith(node);
          sync(id, { ...entry, ...fields(answer.comment) });
          show(node, answer.held ? M.savedHeld : M.saved);
        });
      });
    });

    remove.addEventListener("click", () => {
      const yes = make("button", "", M.deleteYes);
      const no = make("button", "", M.deleteNo);
      own.replaceChildren(M.deleteAsk + " ", yes, no);
      focus(yes);
      no.addEventListener("click", () => {
        reset();
        focus(remove);
      });
      yes.addEventListener("click", () =>
        act({ action: "delete" }, article, () => {
          if (article.contains(form)) moveHome();
          sync(id);
          counted(-1);
          const replies = article.querySelector(":scope > .kiln-replies");
          if (replies) article.replaceChildren(make("p", "kiln-body kiln-deleted-note", M.commentDeleted), replies);
          show(replies ? article : article.previousElementSibling || article.parentNode.closest("article,.kiln-thread"), M.deleted);
          if (!replies) article.remove();
        })
      );
    });
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
        if (!ok) return showError(body.error || { message: M.refused });
        const node = element(body.html);
        const edit = body.edit;
        mark(node, body.comment);
        place(node, data.parent);
        if (edit) sync(body.comment.id, { url: edit.url, until: Date.parse(edit.expires_at), ...fields(body.comment) });
        field("text").value = "";
        form.querySelector(".kiln-preview")?.remove();
        moveHome();
        show(
          node,
          node.classList.contains("kiln-pending")
            ? M.postedPending
            : M.posted
        );
      })
      .catch(() => showError(offline()))
      .finally(() => (button.disabled = false));
  });

  thread.addEventListener("submit", (event) => {
    const like = event.target.closest(".kiln-like");
    if (!like) return;
    event.preventDefault();
    post(like.action, Object.fromEntries(new FormData(like)))
      .then(({ ok, body }) => ok && (like.querySelector("b").textContent = body.likes))
      .catch(() => {});
  });

  thread.addEventListener("click", (event) => {
    const link = event.target.closest("a.kiln-reply");
    if (!link) return;
    const parent = new URL(link.href).searchParams.get("parent");
    const article = link.closest("article");
    if (!parent || !article) return;
    event.preventDefault();
    if (!field("parent")) form.prepend(element('<input type="hidden" name="parent">'));
    field("parent").value = parent;
    link.closest(".kiln-actions").after(form);
    if (heading) heading.textContent = M.writeReply;
    if (!form.querySelector(".kiln-cancel")) {
      const cancel = make("button", "kiln-cancel", M.cancelReply);
      cancel.addEventListener("click", () => {
        moveHome();
        focus(link);
      });
      form.querySelector(".kiln-submit").append(cancel);
    }
    focus(field("text"));
  });

  const preview = make("button", "kiln-preview-button", M.preview);
  form.querySelector(".kiln-submit").prepend(preview, " ");
  preview.addEventListener("click", () => {
    post(api + "/api/preview", { text: field("text").value })
      .then(({ ok, body }) => {
        if (!ok) return showError(body.error);
        let shown = form.querySelector(".kiln-preview");
        if (!shown) {
          shown = make("div", "kiln-preview");
          shown.setAttribute("aria-label", M.preview);
          field("text").closest(".kiln-field").after(shown);
        }
        shown.innerHTML = body.html;
        say(M.previewUpdated);
      })
      .catch(() => say(M.previewOffline));
  });

  sync();
  const id = field("thread")?.value;
  const query = new URLSearchParams({ thread: id });
  if (receiver && thread.querySelector(".kiln-like"))
    get(api + "/api/likes?" + query)
      .then(({ ok, body }) => ok && thread.querySelectorAll(".kiln-like").forEach((like) => (like.querySelector("b").textContent = body[like.comment.value] || 0)))
      .catch(() => {});

  const token = field("token");
  if (id && token?.value) {
    const fresh = () =>
      get(api + "/api/token?" + query)
        .then(({ ok, body }) => ok && (token.value = body.token))
        .catch(() => {});
    form.addEventListener("focusin", fresh, { once: true });
  }

  query.set("after", thread.dataset.kilnCursor || "0");
  if (id && receiver)
    seen([thread], () =>
      get(api + "/api/comments?" + query)
        .then(({ ok, body }) => {
          if (!ok) return;
          for (const comment of body.comments) {
            if (!document.getElementById("kiln-comment-" + comment.id)) place(element(comment.html), comment.parent);
          }
          sync();
        })
        .catch(() => {})
    );
}

document.querySelectorAll(".kiln-thread").forEach(enhance);
if (receiver) {
  const counts = document.querySelectorAll("[data-kiln-count]");
  const idOf = (el) => el.dataset.kilnCount || location.pathname;
  seen(counts, () => {
    const query = new URLSearchParams();
    [...new Set([...counts].map(idOf))].slice(0, 100).forEach((id) => query.append("thread", id));
    get(receiver + "/api/counts?" + query)
      .then(({ ok, body }) => {
        if (!ok) return;
        counts.forEach((el) => {
          const found = body.counts[idOf(el)]?.html;
          if (found) el.innerHTML = found;
        });
      })
      .catch(() => {});
  });
}
