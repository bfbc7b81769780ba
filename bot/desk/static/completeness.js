// The completeness page's map: one point per village whose place its reports tell.
document.addEventListener("DOMContentLoaded", () => {
  const box = document.getElementById("villages-map");
  const data = document.getElementById("village-points");
  if (!box || !data || typeof L === "undefined") return;
  const points = JSON.parse(data.textContent);
  const map = L.map(box);
  L.tileLayer(box.dataset.tiles, { attribution: box.dataset.attribution, maxZoom: 19 }).addTo(map);
  const where = [];
  // The alarming ones last, so that they are drawn on top.
  const order = { reported: 0, silent: 1, alarming: 2 };
  points.sort((a, b) => order[a[2]] - order[b[2]]);
  for (const [lat, lon, state, label] of points) {
    where.push([lat, lon]);
    L.circleMarker([lat, lon], {
      className: `village-point village-${state}`,
      radius: state === "alarming" ? 11 : 7,
    }).bindTooltip(label).addTo(map);
  }
  map.fitBounds(L.latLngBounds(where).pad(0.3), { maxZoom: 13, animate: false });
});
