import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import torch  # noqa: E402

from noisy_select.bench import plots  # noqa: E402


def test_one_colour_per_model_and_one_line_style_per_label_in_every_panel():
    epochs = [{"epoch": 1, "keep_rate": [[0.5, 0.9], [0.6, 0.8]]}]
    history = [{"epoch": 1, "val_bac_1": 0.7, "val_bac_2": 0.6}]
    fig, axes = plt.subplots(1, 3)
    plots.plot_history(history, axes[0])
    plots.plot_keep_rates(epochs, axes[1])
    labels = torch.tensor([0, 0, 1, 1])
    plots.plot_loss_distributions(torch.rand(2, 4), torch.tensor([True, False, True, False]),
                                  labels, axes[2], model=2)
    for line in axes[0].lines[:2] + axes[1].lines:
        model = 1 if "model 1" in line.get_label() else 2
        assert line.get_color() == plots.MODEL_COLORS[model]
    for line in axes[1].lines:
        label = int(line.get_label()[-1])
        assert line.get_linestyle() == plots.LABEL_STYLES[label]
    assert axes[2].get_title().startswith("Model 2")
    # Where both models keep the same share, model 1 stays visible under model 2's line.
    one, two = (next(ln for ln in axes[1].lines if f"model {m}, label 0" in ln.get_label())
                for m in (1, 2))
    assert one.get_linewidth() > 2 * two.get_linewidth() and one.get_zorder() < two.get_zorder()
    assert one.get_marker() != two.get_marker()
    # A single epoch gets a readable axis: one tick at 1, not a zero-width range.
    assert list(axes[0].get_xticks()) == [1] and axes[0].get_xlim() == (0.5, 1.5)
    plt.close(fig)
