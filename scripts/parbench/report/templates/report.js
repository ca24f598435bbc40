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
  function value(cell) {
    var text = cell.textContent.trim(), number = parseFloat(text.replace(/[,x%]/g, '').replace(/^\[/, ''));
    return isNaN(number) ? text.toLowerCase() : number;
  }
  function sortBy(th) {
    var table = th.closest('table'), body = table.tBodies[0], index = Array.prototype.indexOf.call(th.parentNode.children, th);
    var ascending = !th.classList.contains('asc');
    Array.prototype.forEach.call(th.parentNode.children, function (h) { h.classList.remove('asc', 'desc'); });
    th.classList.add(ascending ? 'asc' : 'desc');
    var rows = Array.prototype.slice.call(body.rows);
    rows.sort(function (a, b) {
      var x = value(a.cells[index]), y = value(b.cells[index]);
      if (typeof x !== typeof y) { x = String(x); y = String(y); }
      return (x < y ? -1 : x > y ? 1 : 0) * (ascending ? 1 : -1);
    });
    rows.forEach(function (row) { body.appendChild(row); });
  }
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
    var table = Array.prototype.find.call(document.querySelectorAll('table.sortable'), function (t) {
      return t.tBodies[0].rows.length > 2;
    });
    if (table) {
      var th = table.tHead.rows[0].cells[0];
      sortBy(th);
      var first = Array.prototype.map.call(table.tBodies[0].rows, function (r) { return value(r.cells[0]); });
      sortBy(th);
      var second = Array.prototype.map.call(table.tBodies[0].rows, function (r) { return value(r.cells[0]); });
      var ascending = first.every(function (v, i) { return i === 0 || !(String(first[i - 1]) > String(v)) || typeof v === 'number' && first[i - 1] <= v; });
      result.sorted = ascending && JSON.stringify(second) === JSON.stringify(first.slice().reverse());
    }
    var pre = document.createElement('pre');
    pre.id = 'selftest';
    pre.textContent = JSON.stringify(result);
    document.body.appendChild(pre);
  });
})();
