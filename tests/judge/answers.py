"""Answers written for the judge tests, held out from every fit (not bank samples, not SemEval).

For each bank question: a full correct answer, a terse correct one, a vague partial one and a
fluent but wrong one (a confident false claim in the subject's own vocabulary).
"""

from __future__ import annotations

HELD_OUT: dict[str, dict[str, str]] = {
    "dying-relu-leaky-relu": {
        "correct": (
            "A ReLU dies when its input is negative for every example: it then outputs zero and its "
            "gradient is zero, so its weights stop updating and it never recovers. Leaky ReLU keeps a "
            "small slope such as 0.01 for negative inputs, so some gradient always flows and the unit "
            "can come back to life."
        ),
        "terse": (
            "Dead ReLUs output zero with zero gradient forever; "
            "Leaky ReLU's small negative slope keeps gradients flowing."
        ),
        "partial": (
            "Some ReLU neurons stop doing anything during training. "
            "Leaky ReLU is a variant that helps with it."
        ),
        "wrong": (
            "Dying ReLU means the activations grow without bound until the network blows up. Leaky "
            "ReLU fixes this by capping every output at a maximum value so activations stay small."
        ),
    },
    "gan-basics": {
        "correct": (
            "A GAN trains two networks against each other. The generator turns random noise into fake "
            "samples, and the discriminator tries to tell real data from the generator's fakes. The "
            "generator is trained to fool the discriminator, so over time its samples look like the "
            "real data distribution."
        ),
        "terse": (
            "A generator makes fakes from noise and a "
            "discriminator tells real from fake; they train adversarially."
        ),
        "partial": "GANs are neural networks that can generate new images.",
        "wrong": (
            "A GAN is a single network that compresses its input into a small code and reconstructs it; "
            "the reconstruction error is minimised so the code captures the data, and new samples come "
            "from editing the code by hand."
        ),
    },
    "adam-optimizer": {
        "correct": (
            "Adam keeps an exponential moving average of the gradients (momentum) and of the squared "
            "gradients, and divides each parameter's step by the square root of the second average, so "
            "every parameter gets its own adaptive learning rate. Both averages are bias-corrected "
            "because they start at zero."
        ),
        "terse": (
            "Adam combines momentum with RMSProp-style per-parameter "
            "scaling by squared-gradient averages, plus bias correction."
        ),
        "partial": "Adam is a popular optimizer that usually trains faster than plain SGD.",
        "wrong": (
            "Adam uses one fixed global learning rate for all weights and ignores past gradients; it is "
            "plain gradient descent where the step size is doubled every epoch to speed up training."
        ),
    },
    "dropout-basics": {
        "correct": (
            "Dropout randomly zeroes a fraction of the units on every training step, so the network "
            "cannot depend on any single neuron and co-adaptation is reduced; it acts like training an "
            "ensemble of thinned networks. At test time every unit is kept, with activations scaled so "
            "their expected value matches training."
        ),
        "terse": (
            "It randomly drops units during training to stop co-adaptation, "
            "like an ensemble; all units are used at test time."
        ),
        "partial": "Dropout is a regularization technique that helps with overfitting.",
        "wrong": (
            "Dropout permanently deletes the weakest neurons after training to make the model smaller, "
            "and it is applied only at test time, which is why it reduces overfitting."
        ),
    },
    "softmax-function": {
        "correct": (
            "Softmax exponentiates each logit and divides by the sum of the exponentials, turning a "
            "vector of scores into positive values that sum to one, a probability distribution over the "
            "classes. Larger logits get exponentially more mass, and it is used in the output layer of "
            "multi-class classifiers with cross-entropy loss."
        ),
        "terse": (
            "It maps logits to probabilities that sum to "
            "one by exponentiating and normalising; used for multi-class outputs."
        ),
        "partial": "Softmax is an activation function used at the end of classification networks.",
        "wrong": (
            "Softmax applies a sigmoid to each logit separately, so every class gets an independent "
            "score between 0 and 1 and the outputs usually add up to much more than one."
        ),
    },
    "lstm-gates": {
        "correct": (
            "An LSTM has a cell state controlled by three gates. The forget gate decides what to erase "
            "from the cell state, the input gate decides which new candidate values to write, and the "
            "output gate decides what part of the cell state becomes the hidden state. Each gate is a "
            "sigmoid layer whose output multiplies the signal elementwise."
        ),
        "terse": (
            "Forget gate erases cell memory, input gate writes new "
            "content, output gate exposes the cell as the hidden state."
        ),
        "partial": "LSTMs have gates that control the flow of information.",
        "wrong": (
            "An LSTM has a single gate that resets the hidden state to zero at every time step, which is "
            "how it forgets everything and avoids long-term memory."
        ),
    },
}
