// Ceremony pages. On the presenter's page: reveal the ranking from last place to the winner,
// one step per key press, from the JSON data block in the page (the stage's data-presentation
// attribute). It never fetches anything, so the reveal goes on if the venue's network drops once
// the page has loaded. On the printable pages: the Print buttons.
(function () {
  "use strict";

  var NEXT = ["ArrowRight", "PageDown", " ", "Spacebar", "Enter"];
  var BACK = ["ArrowLeft", "PageUp", "Backspace"];

  function element(tag, className, text) {
    var node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined) node.textContent = text;
    return node;
  }

  function slide(kind, data) {
    var section = element("section", "slide slide-" + kind);
    section.hidden = true;
    if (data.rehearsal) section.appendChild(element("p", "rehearsal-label", "Rehearsal — not published"));
    var body = element("div", "slide-body");
    section.appendChild(body);
    return { section: section, body: body };
  }

  function titleSlide(data) {
    var s = slide("title", data);
    s.body.appendChild(element("p", "slide-kicker", data.top ? "The top " + data.top : "The results"));
    s.body.appendChild(element("h1", "slide-award", data.award));
    s.body.appendChild(element("p", "slide-date", data.date));
    return s.section;
  }

  function nomineeCard(nominee, data) {
    var card = element("div", "reveal-nominee");
    var title = element("h2", "reveal-title", nominee.title);
    // Long project names get smaller type, so that they still fit the screen.
    if (nominee.title.length > 90) title.classList.add("is-very-long");
    else if (nominee.title.length > 50) title.classList.add("is-long");
    card.appendChild(title);
    card.appendChild(element("p", "reveal-organisation", nominee.organisation));
    card.appendChild(element("p", "reveal-place", nominee.city + ", " + nominee.country));
    var score = element("p", "reveal-score");
    score.appendChild(element("span", "reveal-score-label", data.scoreLabel + " "));
    score.appendChild(element("span", "reveal-score-value", nominee.score));
    card.appendChild(score);
    return card;
  }

  function placeSlide(step, data) {
    var s = slide(step.winner ? "winner" : "place", data);
    s.body.appendChild(element("p", "slide-kicker", step.place));
    var nominees = element("div", "reveal-nominees" + (step.nominees.length > 1 ? " is-shared" : ""));
    step.nominees.forEach(function (nominee) { nominees.appendChild(nomineeCard(nominee, data)); });
    s.body.appendChild(nominees);
    return s.section;
  }

  function drumrollSlide(step, data) {
    var s = slide("drumroll", data);
    var words = step.nominees.length > 1 ? "And the winners are…" : "And the winner is…";
    s.body.appendChild(element("p", "slide-drumroll", words));
    return s.section;
  }

  function emptySlide(data) {
    var s = slide("empty", data);
    s.body.appendChild(element("p", "slide-kicker", "No nominee has a score yet."));
    return s.section;
  }

  function buildSlides(data) {
    var slides = [titleSlide(data)];
    data.steps.forEach(function (step) {
      if (step.winner) slides.push(drumrollSlide(step, data));
      slides.push(placeSlide(step, data));
    });
    if (!data.steps.length) slides.push(emptySlide(data));
    return slides;
  }

  function toggleFullscreen() {
    if (!document.fullscreenEnabled) return;
    var request = document.fullscreenElement
      ? document.exitFullscreen()
      : document.documentElement.requestFullscreen();
    if (request && request.catch) request.catch(function () {});  // refused: stay as we are
  }

  function startPresenter(stage) {
    var data = JSON.parse(stage.getAttribute("data-presentation"));
    var hint = document.getElementById("key-hint");
    var slides = buildSlides(data);
    var counter = element("p", "step-counter");
    counter.setAttribute("aria-hidden", "true");
    slides.forEach(function (section) { stage.appendChild(section); });
    stage.appendChild(counter);
    var current = 0;

    function show(index) {
      current = Math.max(0, Math.min(slides.length - 1, index));
      slides.forEach(function (section, i) { section.hidden = i !== current; });
      stage.setAttribute("data-step", String(current));
      counter.textContent = current + 1 + " / " + slides.length;
    }

    document.addEventListener("keydown", function (event) {
      if (event.ctrlKey || event.metaKey || event.altKey) return;  // leave the browser's own keys
      var key = event.key;
      var handled = true;
      if (NEXT.indexOf(key) !== -1) show(current + 1);
      else if (BACK.indexOf(key) !== -1) show(current - 1);
      else if (key === "Home") show(0);
      else if (key === "f" || key === "F") toggleFullscreen();
      else handled = false;
      if (handled) {
        event.preventDefault();
        hint.hidden = true;
      }
    });
    // A click (or a tap on a touch screen) moves on too.
    stage.addEventListener("click", function () {
      hint.hidden = true;
      show(current + 1);
    });

    document.getElementById("presenter-fallback").hidden = true;
    stage.hidden = false;
    hint.hidden = false;
    show(0);
  }

  function wirePrintButtons() {
    Array.prototype.forEach.call(document.querySelectorAll("[data-print]"), function (button) {
      button.hidden = false;
      button.addEventListener("click", function () { window.print(); });
    });
  }

  wirePrintButtons();
  var stage = document.getElementById("stage");
  if (stage && stage.hasAttribute("data-presentation")) startPresenter(stage);
})();
