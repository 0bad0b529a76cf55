# VM scale: per monitored VM, against the number of VMs, one line per stack
# (rondo-vmm with its store, without it, node-exporter + Prometheus). The
# report passes: tdir, data (one index block per stack: N, peak RSS kB per VM,
# CPU s per VM-second, capture), out (path without extension), titles (one
# word per stack) and n.
load tdir.'/common.gp'
set xlabel 'VMs at once (N)'
set logscale x 2
do for [fmt in 'png svg'] {
    if (fmt eq 'png') {
        set terminal pngcairo noenhanced size 1100,1200 font ',11'
    } else {
        set terminal svg noenhanced size 1100,1200 dynamic font ',11'
    }
    set output sprintf('%s.%s', out, fmt)
    set multiplot layout 3,1 title 'VM scale: cost per monitored VM against N'
    set ylabel 'Peak RSS per VM (kB)'
    plot for [i=0:n-1] data index i using 1:2 with linespoints lw 2 pt 7 title word(titles, i+1)
    set ylabel 'CPU s per VM-second'
    plot for [i=0:n-1] data index i using 1:3 with linespoints lw 2 pt 7 title word(titles, i+1)
    set ylabel 'Capture (uptime points / seconds)'
    set yrange [0:1.1]
    # Only the store records capture; the first block is rondo-vmm with it.
    plot data index 0 using 1:4 with linespoints lw 2 pt 7 title word(titles, 1)
    set autoscale y
    unset multiplot
    set output
}
