// The statistics page: each canvas draws the numbers in its data-chart attribute (the same
// numbers as the table beside it) with the vendored Chart.js.
document.addEventListener("DOMContentLoaded", () => {
  if (typeof Chart === "undefined") return;
  const colours = ["#1b5fb8", "#e07b00", "#1e7a3c", "#b3261e", "#6b4fbb", "#5b6478", "#0f8b8d", "#c2185b"];
  for (const canvas of document.querySelectorAll("canvas[data-chart]")) {
    const spec = JSON.parse(canvas.dataset.chart);
    const datasets = spec.datasets.map((set, i) => ({
      ...set, backgroundColor: colours[i % colours.length],
    }));
    new Chart(canvas, {
      type: spec.type,
      data: { labels: spec.labels, datasets },
      options: {
        responsive: true, maintainAspectRatio: false, animation: false,
        plugins: { legend: { display: datasets.length > 1 } },
        scales: {
          x: { stacked: !!spec.stacked },
          y: { stacked: !!spec.stacked, beginAtZero: true, ticks: { precision: 0 } },
        },
      },
    });
  }
});
