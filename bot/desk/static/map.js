// The map of cases: the filters' form drives /desk/map/cases.json; its points become markers
// clustered in the browser (leaflet.markercluster); when the server answers with grid cells
// instead (too many cases in view), each cell is drawn as a cluster and the map asks again for
// the part in view as it moves.
document.addEventListener("DOMContentLoaded", () => {
  const box = document.getElementById("cases-map");
  if (!box || typeof L === "undefined") return;
  const labels = JSON.parse(box.dataset.labels);
  const form = document.getElementById("filters");
  const shown = document.getElementById("shown");
  const note = document.getElementById("unlocated");
  const map = L.map(box).setView([13.0, 101.0], 5);
  L.tileLayer(box.dataset.tiles, { attribution: box.dataset.attribution, maxZoom: 19 }).addTo(map);
  const markers = L.markerClusterGroup({ maxClusterRadius: 50 });
  const cells = L.layerGroup();
  map.addLayer(markers);
  map.addLayer(cells);
  let partial = false; // the last answer covered only the view (cells, or points in a box)
  let fitted = false;
  let asked = 0;

  function filters() {
    const params = new URLSearchParams();
    for (const [name, value] of new FormData(form)) if (value) params.append(name, value);
    return params;
  }

  function caseIcon(status, urgency) {
    return L.divIcon({
      className: `case-marker status-${status} urgency-${urgency || "none"}`,
      iconSize: [22, 22],
      iconAnchor: [11, 11],
      popupAnchor: [0, -10],
    });
  }

  function popup(reference, status, urgency) {
    const div = document.createElement("div");
    div.className = "case-popup";
    const link = document.createElement("a");
    link.href = `/desk/cases/${encodeURIComponent(reference)}`;
    link.textContent = reference;
    const what = document.createElement("div");
    what.textContent = [labels.status[status] || status, labels.urgency[urgency] || ""]
      .filter(Boolean).join(" · ");
    const open = document.createElement("a");
    open.href = link.href;
    open.textContent = labels.open.label;
    open.className = "open-case";
    div.append(link, what, open);
    return div;
  }

  function cellIcon(count, urgent) {
    const size = count < 10 ? "small" : count < 100 ? "medium" : "large";
    const inner = document.createElement("div");
    const span = document.createElement("span");
    span.textContent = String(count);
    inner.append(span);
    return L.divIcon({
      html: inner.outerHTML,
      className: `marker-cluster marker-cluster-${size} server-cell${urgent ? " has-urgent" : ""}`,
      iconSize: [40, 40],
    });
  }

  async function load(inView) {
    const params = filters();
    history.replaceState(null, "", `${location.pathname}${params.size ? "?" + params : ""}`);
    params.set("zoom", String(map.getZoom()));
    if (inView) params.set("bbox", map.getBounds().toBBoxString());
    const mine = ++asked;
    const answer = await fetch(`${box.dataset.source}?${params}`, { credentials: "same-origin" });
    if (!answer.ok || mine !== asked) return;
    const data = await answer.json();
    markers.clearLayers();
    cells.clearLayers();
    const where = [];
    if (data.clustered) {
      for (const [lat, lon, count, urgent] of data.cells) {
        where.push([lat, lon]);
        L.marker([lat, lon], { icon: cellIcon(count, urgent) })
          .on("click", () => map.setView([lat, lon], Math.min(map.getZoom() + 2, 18)))
          .addTo(cells);
      }
    } else {
      const made = data.cases.map(([reference, lat, lon, status, urgency]) => {
        where.push([lat, lon]);
        return L.marker([lat, lon], { icon: caseIcon(status, urgency), title: reference })
          .bindPopup(() => popup(reference, status, urgency));
      });
      markers.addLayers(made);
    }
    partial = inView || data.clustered;
    shown.textContent = data.shown;
    note.textContent = data.note;
    note.hidden = !data.note;
    if (!fitted && where.length) {
      fitted = true;
      map.fitBounds(L.latLngBounds(where).pad(0.2), { maxZoom: 14, animate: false });
    }
  }

  form.addEventListener("change", () => { fitted = false; load(false); });
  form.addEventListener("submit", (event) => { event.preventDefault(); fitted = false; load(false); });
  map.on("moveend", () => { if (partial) load(true); });
  load(false);
});
