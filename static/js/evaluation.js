// Autosave for the evaluation form. Without this file the form still saves with a normal POST.
//
// Every change is kept in localStorage first, then sent with PUT to the JSON API; the copy on
// the device is dropped only once the server has acknowledged that exact content. Failed sends
// are retried with backoff. A newer version saved elsewhere (409) is never overwritten or merged
// silently: every answer that differs is shown with both values, the side that changed it
// ticked, and the juror chooses, answer by answer or whole.
(function () {
  "use strict";

  const form = document.getElementById("evaluation-form");
  // Read-only once scoring has closed (or before it opens): nothing to save, and changes kept
  // on this device from earlier stay there untouched.
  if (!form || form.classList.contains("is-read-only")) return;

  const statusLine = document.getElementById("save-status");
  const offlineWarning = document.getElementById("offline-warning");
  const stateChip = document.getElementById("evaluation-state");
  const versionInput = form.elements.version;
  const draftKey = form.dataset.draftKey;
  const csrfToken = document.querySelector('meta[name="csrf-token"]').content;
  const criteria = Array.from(form.querySelectorAll("fieldset.criterion")).map((f) =>
    f.id.replace(/^criterion-/, "")
  );

  const DEBOUNCE_MS = 700;
  const MAX_BACKOFF_MS = 30000;
  let timer = null;
  let inFlight = false;
  let dirty = false;
  let backoff = 1000;
  let blocked = false; // a conflict or a closed award: wait for the juror
  // What the server held at versionInput's version, as far as this page knows: the ancestor
  // against which a newer version saved elsewhere is compared. Null when unknown.
  let base = null;

  // --- Reading and writing the form -------------------------------------------------------

  function collect() {
    const scores = {};
    const criterionComments = {};
    for (const slug of criteria) {
      const checked = form.querySelector(`input[name="score-${slug}"]:checked`);
      if (checked) scores[slug] = Number(checked.value);
      const comment = form.elements[`comment-${slug}`];
      if (comment && comment.value.trim()) criterionComments[slug] = comment.value;
    }
    return {
      scores: scores,
      criterion_comments: criterionComments,
      comment: form.elements.comment.value,
      submitted: form.dataset.submitted === "true",
    };
  }

  function apply(content) {
    for (const slug of criteria) {
      const value = content.scores[slug];
      form.querySelectorAll(`input[name="score-${slug}"]`).forEach((input) => {
        input.checked = value !== undefined && Number(input.value) === value;
      });
      const comment = form.elements[`comment-${slug}`];
      if (comment) {
        const text = (content.criterion_comments || {})[slug] || "";
        if (comment.value !== text) comment.value = text;
        if (comment.value) comment.closest("details").open = true;
      }
    }
    if (form.elements.comment.value !== (content.comment || "")) {
      form.elements.comment.value = content.comment || "";
    }
  }

  // --- Merging with a version saved elsewhere ------------------------------------------------

  // Every answer of an evaluation, by key: "score:<slug>", "note:<slug>", "comment".
  function answers(content) {
    const out = {};
    for (const slug of criteria) {
      out["score:" + slug] = (content.scores || {})[slug] ?? null;
      out["note:" + slug] = (content.criterion_comments || {})[slug] || "";
    }
    out.comment = content.comment || "";
    return out;
  }

  function fromAnswers(values) {
    const content = { scores: {}, criterion_comments: {}, comment: values.comment || "" };
    for (const slug of criteria) {
      if (values["score:" + slug] !== null) content.scores[slug] = values["score:" + slug];
      if (values["note:" + slug].trim()) content.criterion_comments[slug] = values["note:" + slug];
    }
    return content;
  }

  // Three-way comparison: every answer that differs between this page and the saved version,
  // with the side the juror most likely wants ticked for them: the side that changed it (only
  // one did), or this page's (both did, or the base is unknown). The juror always chooses:
  // scores are weighed together, so changes to different answers are never combined silently.
  function merge(ancestor, mine, theirs) {
    const a = ancestor ? answers(ancestor) : null;
    const m = answers(mine);
    const t = answers(theirs);
    const same = {};
    const differs = [];
    const suggested = {};
    // Text is compared without its surrounding spaces (the server may trim), kept as typed.
    const eq = (x, y) => (typeof x === "string" && typeof y === "string" ? x.trim() === y.trim() : x === y);
    for (const key of Object.keys(m)) {
      if (eq(m[key], t[key])) {
        same[key] = m[key];
        continue;
      }
      differs.push(key);
      suggested[key] = a && eq(m[key], a[key]) ? "theirs" : "mine";
    }
    return { same: same, differs: differs, suggested: suggested, mine: m, theirs: t };
  }

  function nameOf(key) {
    if (key === "comment") return "Overall comment";
    const [kind, slug] = key.split(":");
    return kind === "score" ? labelOf(slug) : "Comment on " + labelOf(slug).toLowerCase();
  }

  function same(a, b) {
    return JSON.stringify(normalise(a)) === JSON.stringify(normalise(b));
  }

  function normalise(content) {
    const sorted = (o) => Object.fromEntries(Object.entries(o || {}).sort());
    return [sorted(content.scores), sorted(content.criterion_comments), content.comment || ""];
  }

  // --- The copy kept on this device -----------------------------------------------------------

  function keep(content) {
    try {
      localStorage.setItem(
        draftKey,
        JSON.stringify({ content: content, base: Number(versionInput.value), at: Date.now() })
      );
    } catch (e) {
      /* storage full or disabled: the server copy is all we have */
    }
  }

  function kept() {
    try {
      return JSON.parse(localStorage.getItem(draftKey) || "null");
    } catch (e) {
      return null;
    }
  }

  function forget(content) {
    const stored = kept();
    if (stored && same(stored.content, content)) localStorage.removeItem(draftKey);
  }

  // --- Telling the juror --------------------------------------------------------------------

  function say(text, isError) {
    statusLine.textContent = text;
    statusLine.classList.toggle("is-error", Boolean(isError));
  }

  // "14:30 CET": the time zone every page of the site uses (data-time-zone), not the device's.
  const clock = new Intl.DateTimeFormat("en-GB", {
    hour: "2-digit",
    minute: "2-digit",
    hourCycle: "h23",
    timeZone: form.dataset.timeZone || "UTC",
    timeZoneName: "short",
  });

  function time(iso) {
    return clock.format(iso ? new Date(iso) : new Date());
  }

  function showOffline(isOffline) {
    offlineWarning.hidden = !isOffline;
  }

  // --- Sending ------------------------------------------------------------------------------

  function changed() {
    if (blocked) {
      keep(collect());
      return;
    }
    keep(collect());
    say("Saving…");
    clearTimeout(timer);
    timer = setTimeout(send, DEBOUNCE_MS);
  }

  async function send() {
    if (inFlight) {
      dirty = true;
      return;
    }
    const content = collect();
    inFlight = true;
    dirty = false;
    let response;
    try {
      response = await fetch(form.dataset.api, {
        method: "PUT",
        headers: { "Content-Type": "application/json", "X-CSRFToken": csrfToken },
        credentials: "same-origin",
        body: JSON.stringify(Object.assign({ version: Number(versionInput.value) }, content)),
      });
    } catch (e) {
      inFlight = false;
      return retryLater("Not saved yet: no connection. Your changes are kept on this device.", true);
    }
    inFlight = false;
    const body = await response.json().catch(() => ({}));
    if (response.ok) return acknowledged(body, content);
    if (response.status === 409 && body.current) {
      // Saved already with this very content (a reply lost to a reload or a dropped
      // connection): nothing differs, so take the newer version and carry on.
      if (same(body.current, content)) return acknowledged(body.current, content);
      return conflict(body.current);
    }
    if (response.status === 401) {
      blocked = true;
      return say(
        "Your session has ended. Log in again (your changes are kept on this device and will be saved then).",
        true
      );
    }
    if (response.status >= 500 || response.status === 429) {
      // The app says why when it can (503: the database is down, read-only or full); a proxy's
      // error page has no JSON. Either way the draft stays in localStorage and is resent.
      const why = response.status === 503 && body.message;
      return retryLater(
        why ? `Not saved yet. ${why} This page tries again by itself.` : "Not saved yet: the server did not answer. Trying again…",
        false
      );
    }
    // Refused (422): say why; the next change is sent again, and nothing is lost meanwhile.
    say((body.message || "Not saved.") + describe(body.errors), true);
  }

  // The server holds `content` at `saved.version`.
  function acknowledged(saved, content) {
    backoff = 1000;
    showOffline(false);
    versionInput.value = saved.version;
    base = content;
    form.dataset.submitted = saved.submitted ? "true" : "false";
    stateChip.textContent = saved.submitted ? "Submitted" : "Draft";
    stateChip.className = "chip chip-" + (saved.submitted ? "submitted" : "draft");
    forget(content);
    say("Saved at " + time(saved.updated_at));
    if (dirty && !same(collect(), content)) send();
  }

  function describe(errors) {
    if (!errors) return "";
    const json = errors.json || errors;
    const field = (name) => labelOf(name.replace(/^(scores|criterion_comments)\./, ""));
    return " " + Object.entries(json).map(([name, messages]) => `${field(name)}: ${[].concat(messages).join(" ")}`).join("; ");
  }

  function retryLater(text, offline) {
    showOffline(offline);
    say(text, true);
    clearTimeout(timer);
    timer = setTimeout(send, backoff);
    backoff = Math.min(backoff * 2, MAX_BACKOFF_MS);
  }

  // --- A newer version saved elsewhere -----------------------------------------------------------

  function conflict(current) {
    const mine = collect();
    const result = merge(base, mine, current);
    const takeTheirs = (content) => {
      versionInput.value = current.version;
      base = current;
      form.dataset.submitted = current.submitted ? "true" : "false";
      apply(content);
    };
    if (!result.differs.length) {
      // The same answers on both sides: nothing to choose, carry on from the saved version.
      takeTheirs(current);
      keep(collect());
      return;
    }
    blocked = true;
    const panel = document.createElement("div");
    panel.className = "notice notice-warning";
    panel.id = "conflict-notice";
    panel.setAttribute("role", "alert");
    panel.innerHTML =
      "<h2>This evaluation was changed in another tab or device</h2>" +
      "<p>Nothing was overwritten. These answers differ between this page and the version " +
      "saved elsewhere. Choose which to keep for each (the side that changed it is ticked), " +
      "or keep one version whole:</p>" +
      '<div class="table-scroll"><table class="table diff"><thead><tr><th scope="col">Answer</th>' +
      '<th scope="col">Yours (on this page)</th><th scope="col">Saved elsewhere</th></tr></thead>' +
      "<tbody></tbody></table></div>" +
      '<p class="actions"><button type="button" data-choice="chosen">Keep the answers chosen</button>' +
      '<button type="button" class="button-secondary" data-choice="theirs">Load the saved version</button>' +
      '<button type="button" class="button-secondary" data-choice="mine">Keep mine</button></p>';
    const tbody = panel.querySelector("tbody");
    result.differs.forEach((key, index) => {
      const tr = document.createElement("tr");
      const name = document.createElement("td");
      name.textContent = nameOf(key);
      tr.appendChild(name);
      for (const side of ["mine", "theirs"]) {
        const td = document.createElement("td");
        const label = document.createElement("label");
        label.className = "diff-choice";
        const input = document.createElement("input");
        input.type = "radio";
        input.name = "keep-" + index;
        input.value = side;
        input.checked = side === result.suggested[key];
        input.setAttribute(
          "aria-label",
          `${nameOf(key)}: keep ${side === "mine" ? "yours" : "the one saved elsewhere"}, ` +
            String(result[side][key] ?? "none")
        );
        const text = document.createElement("span");
        const value = result[side][key];
        text.textContent = value === null || value === "" ? "—" : String(value);
        label.append(input, " ", text);
        td.appendChild(label);
        tr.appendChild(td);
      }
      tbody.appendChild(tr);
    });
    document.getElementById("conflict-notice")?.remove();
    form.before(panel);
    say("Not saved: a newer version exists.", true);
    const resolve = (content) => {
      panel.remove();
      blocked = false;
      takeTheirs(content);
      keep(collect());
      send();
    };
    panel.querySelector('[data-choice="chosen"]').addEventListener("click", () => {
      const chosen = Object.assign({}, result.same);
      result.differs.forEach((key, index) => {
        const side = panel.querySelector(`input[name="keep-${index}"]:checked`).value;
        chosen[key] = result[side][key];
      });
      resolve(fromAnswers(chosen));
    });
    panel.querySelector('[data-choice="theirs"]').addEventListener("click", () => {
      panel.remove();
      blocked = false;
      takeTheirs(current);
      localStorage.removeItem(draftKey);
      say("Loaded the version saved at " + time(current.updated_at) + ".");
    });
    panel.querySelector('[data-choice="mine"]').addEventListener("click", () => {
      resolve(mine); // deliberately replace it
    });
    panel.querySelector("button").focus();
  }

  function labelOf(slug) {
    const name = document.querySelector(`#criterion-${slug} .criterion-name`);
    return name ? name.textContent : slug;
  }

  // --- Wiring ----------------------------------------------------------------------------

  form.addEventListener("change", (event) => {
    if (event.target.matches("input[type=radio], textarea")) changed();
    // A criterion scored after a refused submission no longer shows its error.
    const refused = event.target.closest("fieldset.criterion.has-error");
    if (refused && event.target.matches("input[type=radio]")) {
      refused.classList.remove("has-error");
      refused.querySelector(".field-error")?.remove();
      refused.setAttribute("aria-describedby", refused.id.replace(/^criterion-/, "guidance-"));
    }
  });
  form.addEventListener("input", (event) => {
    if (event.target.matches("textarea")) changed();
  });

  // Submitting: make sure the latest content is saved, then let the ordinary POST submit it.
  form.addEventListener("submit", (event) => {
    const submitter = event.submitter;
    if (form.dataset.ready === "true") return;
    if (!navigator.onLine) {
      event.preventDefault();
      showOffline(true);
      say("You are offline: submit again when the connection is back. Nothing is lost.", true);
      return;
    }
    if (blocked) {
      event.preventDefault();
      say("Deal with the message above first; nothing is lost.", true);
      return;
    }
    clearTimeout(timer);
    // Nothing unsent: the ordinary POST goes ahead now. (A browser ignores requestSubmit()
    // called from inside a submit event, so this case must not be deferred to finish().)
    if (!kept() && !inFlight) return;
    event.preventDefault();
    const finish = () => {
      form.dataset.ready = "true";
      form.requestSubmit(submitter);
      delete form.dataset.ready;
    };
    if (inFlight) {
      setTimeout(() => form.requestSubmit(submitter), 300);
      return;
    }
    send().then(() => {
      if (!kept() && !blocked) finish();
    });
  });

  window.addEventListener("online", () => {
    showOffline(false);
    // Only the tab whose changes wait on this device sends them: another tab open on the same
    // evaluation would otherwise send its own, older content and meet a conflict.
    const stored = kept();
    if (stored && same(stored.content, collect()) && !blocked) {
      clearTimeout(timer);
      send();
    }
  });
  window.addEventListener("offline", () => showOffline(true));

  // JavaScript saves as you go: the draft button is for pages without it.
  const draftButton = document.getElementById("save-draft");
  if (draftButton) draftButton.hidden = true;

  // After a refused submission, start from the list of what needs attention.
  document.getElementById("error-summary")?.focus();

  // Unsent changes from an earlier visit (a reload, a closed tab, an ended session).
  base = collect();
  const stored = kept();
  if (stored) {
    const server = collect();
    if (same(stored.content, server)) {
      localStorage.removeItem(draftKey);
    } else if (stored.base === Number(versionInput.value)) {
      apply(stored.content);
      say("Restored your unsaved changes; saving…");
      send();
    } else {
      const saved = Object.assign({ version: Number(versionInput.value) }, server);
      apply(stored.content);
      base = null; // the version those changes started from is gone: every difference is asked
      conflict(saved);
    }
  }
  if (!navigator.onLine) showOffline(true);
})();
