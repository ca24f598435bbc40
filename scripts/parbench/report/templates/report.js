// Sorting: a click on a header sorts its table by that column (numbers by value,
// the rest as text), again to reverse. #selftest: checks the page as a reader
// would meet it and writes the result into the page's self-test block.
(function () {
  var errors = [];
  window.addEventListener('error', function (e) {
    errors.push((e.message || ('failed to load ' + (e.target && (e.target.src || e.target.href)))));
  }, true);
  var consoleError = console.error;
  console.error = function () { errors.push(Array.prototype.join.call(arguments, ' ')); consoleError.apply(console, arguments); };
  // A cell sorts by its data-sort value (the report writes it: the cell's number in one unit
  // per kind, so 13.8 ns comes before 3.86 ms), else by its text; numbers before text.
  function value(cell) {
    var key = cell.getAttribute('data-sort');
    return key !== null && key !== '' ? parseFloat(key) : cell.textContent.trim().toLowerCase();
  }
  function sortBy(th) {
    var table = th.closest('table'), body = table.tBodies[0], index = Array.prototype.indexOf.call(th.parentNode.children, th);
    var ascending = !th.classList.contains('asc');
    Array.prototype.forEach.call(th.parentNode.children, function (h) { h.classList.remove('asc', 'desc'); });
    th.classList.add(ascending ? 'asc' : 'desc');
    var rows = Array.prototype.slice.call(body.rows);
    rows.sort(function (a, b) {
      var x = value(a.cells[index]), y = value(b.cells[index]);
      if (typeof x !== typeof y) return (typeof x === 'number' ? -1 : 1) * (ascending ? 1 : -1);
      return (x < y ? -1 : x > y ? 1 : 0) * (ascending ? 1 : -1);
    });
    rows.forEach(function (row) { body.appendChild(row); });
  }
  // A collapsed section opens when the contents (or an address) lead to it.
  function reveal(id) {
    var target = id && document.getElementById(id), section = target && target.closest('details');
    if (section) section.open = true;
  }
  document.querySelectorAll('nav#contents a').forEach(function (a) {
    a.addEventListener('click', function () { reveal(a.getAttribute('href').slice(1)); });
  });
  window.addEventListener('hashchange', function () { reveal(location.hash.slice(1)); });
  reveal(location.hash.slice(1));
  document.querySelectorAll('table.sortable th').forEach(function (th) {
    th.addEventListener('click', function () { sortBy(th); });
  });
  if (location.hash !== '#selftest') return;
  window.addEventListener('load', function () {
    var result = {images: 0, broken: [], links: 0, dangling: [], sorted: null, errors: errors};
    document.querySelectorAll('img').forEach(function (img) {
      result.images++;
      if (!img.complete || img.naturalWidth === 0) result.broken.push(img.alt);
    });
    document.querySelectorAll('nav#contents a').forEach(function (a) {
      result.links++;
      if (!document.getElementById(a.getAttribute('href').slice(1))) result.dangling.push(a.getAttribute('href'));
    });
    // the sorting test: a column whose every cell has a number in a unit (a time, a size),
    // sorted both ways by value, in a table of more than two rows
    // (a column of times in units if there is one, else any column of numbers)
    var column = null;
    [/\d (ns|us|ms|s)\b/, /\d/, null].forEach(function (pattern) {
      document.querySelectorAll('table.sortable').forEach(function (t) {
        if (column || t.tBodies[0].rows.length < 3) return;
        for (var i = 0; i < t.tHead.rows[0].cells.length && !column; i++) {
          var cells = Array.prototype.map.call(t.tBodies[0].rows, function (r) { return r.cells[i]; });
          var texts = cells.map(function (c) { return c && c.textContent; }).join(' ');
          var numeric = cells.every(function (c) { return c && c.getAttribute('data-sort'); });
          if ((pattern === null ? cells.every(function (c) { return c; }) : numeric && pattern.test(texts)))
            column = t.tHead.rows[0].cells[i];
        }
      });
    });
    if (column) {
      var at = Array.prototype.indexOf.call(column.parentNode.children, column);
      var tbody = column.closest('table').tBodies[0];
      var read = function () { return Array.prototype.map.call(tbody.rows, function (r) { return value(r.cells[at]); }); };
      sortBy(column);
      var first = read();
      sortBy(column);
      var second = read();
      var before = function (x, y) { return typeof x === typeof y ? x <= y : typeof x === 'number'; };
      var ascending = first.every(function (v, i) { return i === 0 || before(first[i - 1], v); });
      var descending = second.every(function (v, i) { return i === 0 || before(v, second[i - 1]); });
      result.sorted = ascending && descending && first.length > 2;
      result.sorted_column = column.textContent;
      result.sorted_by_value = first.every(function (v) { return typeof v === 'number'; });
    }
    result.overflow = document.documentElement.scrollWidth - document.documentElement.clientWidth;
    result.width = document.documentElement.clientWidth;
    var pre = document.createElement('pre');
    pre.id = 'selftest';
    pre.textContent = JSON.stringify(result);
    document.body.appendChild(pre);
  });
})();
