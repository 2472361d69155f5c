// Plotly's subset for the descent view: its core (scatter included) and the trace types the
// view draws (serving/bundle.py serves the built file; ui/descent_view.py refuses other types).
'use strict';
var Plotly = require('plotly.js/lib/core');
Plotly.register([
    require('plotly.js/lib/scatter3d'),
    require('plotly.js/lib/surface'),
    require('plotly.js/lib/contour'),
    require('plotly.js/lib/heatmap'),
]);
module.exports = Plotly;
